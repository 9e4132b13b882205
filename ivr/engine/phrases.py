"""What the engine says by itself, in the languages it knows: no input, no match, goodbye, sorry,
and a caller's place in line on hold (`{position}` stands for the number).

A flow in Spanish that has no `no_match` of its own must still apologise in Spanish. The words
are picked by the first part of a language code (`es-US` and `es-MX` are both `es`), and are
meant to sound like a person on the phone: short and polite.
"""

from __future__ import annotations

from typing import Literal

Phrase = Literal["no_input", "no_match", "goodbye", "apology", "position"]

PHRASES: dict[str, dict[Phrase, str]] = {
    "en": {
        "no_input": "Sorry, I didn't catch that.",
        "no_match": "Sorry, that isn't one of the options.",
        "goodbye": "Goodbye.",
        "apology": "Sorry, something went wrong on our side. Please try again later. Goodbye.",
        "position": "You are number {position} in line.",  # on hold in a queue
    },
    "es": {
        "no_input": "Disculpe, no le escuché.",
        "no_match": "Lo siento, esa no es una de las opciones.",
        "goodbye": "Adiós.",
        "apology": (
            "Lo sentimos, tuvimos un problema de nuestro lado. "
            "Por favor, inténtelo más tarde. Adiós."
        ),
        "position": "Usted es el número {position} en la fila.",
    },
    "fr": {
        "no_input": "Pardon, je n'ai rien entendu.",
        "no_match": "Désolé, ce choix ne fait pas partie des options.",
        "goodbye": "Au revoir.",
        "apology": (
            "Désolé, un problème est survenu de notre côté. "
            "Merci de réessayer plus tard. Au revoir."
        ),
        "position": "Vous êtes le numéro {position} dans la file d'attente.",
    },
    "de": {
        "no_input": "Entschuldigung, ich habe Sie nicht verstanden.",
        "no_match": "Diese Auswahl gibt es leider nicht.",
        "goodbye": "Auf Wiederhören.",
        "apology": (
            "Entschuldigung, bei uns ist ein Fehler aufgetreten. "
            "Bitte versuchen Sie es später noch einmal. Auf Wiederhören."
        ),
        "position": "Sie sind Nummer {position} in der Warteschlange.",
    },
    "pt": {
        "no_input": "Desculpe, não consegui ouvir.",
        "no_match": "Desculpe, essa não é uma das opções.",
        "goodbye": "Até logo.",
        "apology": (
            "Desculpe, tivemos um problema do nosso lado. "
            "Por favor, tente novamente mais tarde. Até logo."
        ),
        "position": "Você é o número {position} na fila.",
    },
    "it": {
        "no_input": "Scusi, non ho sentito.",
        "no_match": "Mi dispiace, questa non è una delle opzioni.",
        "goodbye": "Arrivederci.",
        "apology": (
            "Ci scusi, si è verificato un problema da parte nostra. "
            "La preghiamo di riprovare più tardi. Arrivederci."
        ),
        "position": "Lei è il numero {position} in coda.",
    },
}
ENGLISH = "en-US"


def phrase(name: Phrase, language: str | None) -> tuple[str, str | None]:
    """The engine's words for `name` in `language`, and the language they are in.

    A language the engine doesn't know gets English (and says so: `en-US`), rather than English
    words read by, say, a Japanese voice.
    """
    words = PHRASES.get((language or "en").split("-", 1)[0].lower())
    if words is None:
        return PHRASES["en"][name], ENGLISH
    return words[name], language
