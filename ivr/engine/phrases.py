"""What the engine says by itself, in the languages it knows: no input, no match, goodbye, sorry,
and a caller's place in line on hold (`{position}` stands for the number).

A flow in Spanish that has no `no_match` of its own must still apologise in Spanish. The words
are picked by the first part of a language code (`es-US` and `es-MX` are both `es`), and are
meant to sound like a person on the phone: short and polite.
"""

from __future__ import annotations

from typing import Literal

# `position` is said on hold in a queue; `call_failed` and `text_failed` are the server's, when
# a webhook fails outside the engine.
Phrase = Literal[
    "no_input", "no_match", "goodbye", "apology", "position", "call_failed", "text_failed"
]

PHRASES: dict[str, dict[Phrase, str]] = {
    "en": {
        "no_input": "Sorry, I didn't catch that.",
        "no_match": "Sorry, that isn't one of the options.",
        "goodbye": "Goodbye.",
        "apology": "Sorry, something went wrong on our side. Please try again later. Goodbye.",
        "position": "You are number {position} in line.",  # on hold in a queue
        "call_failed": "Sorry, this call can't go on. Please call again. Goodbye.",
        "text_failed": "Sorry, something went wrong on our side. Please try again later.",
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
        "call_failed": (
            "Lo sentimos, esta llamada no puede continuar. Por favor, vuelva a llamar. Adiós."
        ),
        "text_failed": (
            "Lo sentimos, tuvimos un problema de nuestro lado. Por favor, inténtelo más tarde."
        ),
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
        "call_failed": "Désolé, cet appel ne peut pas continuer. Merci de rappeler. Au revoir.",
        "text_failed": (
            "Désolé, un problème est survenu de notre côté. Merci de réessayer plus tard."
        ),
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
        "call_failed": (
            "Entschuldigung, dieser Anruf kann nicht fortgesetzt werden. "
            "Bitte rufen Sie noch einmal an. Auf Wiederhören."
        ),
        "text_failed": (
            "Entschuldigung, bei uns ist ein Fehler aufgetreten. "
            "Bitte versuchen Sie es später noch einmal."
        ),
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
        "call_failed": (
            "Desculpe, esta chamada não pode continuar. Por favor, ligue novamente. Até logo."
        ),
        "text_failed": (
            "Desculpe, tivemos um problema do nosso lado. Por favor, tente novamente mais tarde."
        ),
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
        "call_failed": (
            "Ci scusi, questa chiamata non può proseguire. La preghiamo di richiamare. Arrivederci."
        ),
        "text_failed": (
            "Ci scusi, si è verificato un problema da parte nostra. "
            "La preghiamo di riprovare più tardi."
        ),
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
