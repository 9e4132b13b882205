"""The checks of a flow's languages: every text's mapping names the flow's languages, and only
them; `set: {language: X}` names one; no template stands where Twilio wants a language or a voice.

Where a text can be (`texts`) is written here once: the template checks read it too.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

from ivr.flow.names import LANGUAGE_CODE as CODE
from ivr.flow.problems import Path, name_of, suggest
from ivr.flow.reach import list_of, map_of

if TYPE_CHECKING:
    from ivr.flow.checks import Checker

# The keys whose values a caller hears or reads, in a state and at the top of the flow.
STATE_TEXTS = ("say", "no_input", "no_match", "text")
FLOW_TEXTS = ("help", "no_input", "no_match")
_ITEM = {"say", "play", "pause"}  # the keys of a prompt item (a mapping without them is a text)


def _one(value: object, path: Path) -> Iterator[tuple[Path, object]]:
    """The text of one item: a string or a mapping, or the text inside `{say: ...}`."""
    if isinstance(value, dict):
        for inner in ("say", "body"):  # a prompt item, or a `text` sent elsewhere
            if inner in value:
                yield (*path, inner), value[inner]
                return
        if "play" in value or "pause" in value:
            return
    yield path, value


def texts(doc: dict[str, Any]) -> Iterator[tuple[Path, object]]:
    """Every text of a flow as written (a string or a mapping of language to string)."""
    for key in FLOW_TEXTS:
        for i, item in enumerate(list_of(doc.get(key)) or [doc.get(key)]):
            yield from _one(item, (key, i) if isinstance(doc.get(key), list) else (key,))
    for name, body in map_of(doc.get("states")).items():
        for key in STATE_TEXTS:
            value = map_of(body).get(key)
            base: Path = ("states", name, key)
            if isinstance(value, list):
                for i, item in enumerate(value):
                    yield from _one(item, (*base, i))
            elif value is not None:
                yield from _one(value, base)


def strings(doc: dict[str, Any]) -> Iterator[tuple[Path, str]]:
    """Every string a caller can hear or read, with its path (a mapping's entries by language)."""
    for path, text in texts(doc):
        if isinstance(text, str):
            yield path, text
        for language, value in map_of(text).items():
            if isinstance(value, str):
                yield (*path, language), value


def longest(say: object) -> int:
    """The most characters a `say` comes to in any one language (a text message's length)."""
    items = list_of(say) or [say]
    texts = [i.get("say") if isinstance(i, dict) and _ITEM & set(i) else i for i in items]
    keys = {key for text in texts for key in map_of(text)} or {""}

    def length(language: str) -> int:
        found = [map_of(t).get(language, next(iter(map_of(t).values()), "")) for t in texts]
        return sum(len(t) for t in found + texts if isinstance(t, str))

    return max(length(language) for language in keys)


def languages(checker: Checker) -> list[str]:
    """The languages the flow speaks, its first one first."""
    data = checker.doc.data
    first = data.get("language")
    found = [first] if isinstance(first, str) else []
    return found + [str(key) for key in map_of(data.get("languages"))]


def check_languages(checker: Checker) -> None:
    known = languages(checker)
    if map_of(checker.doc.data.get("languages")) and "language" not in checker.doc.data:
        message = "`languages` names the other languages: add `language`, the flow's first one"
        checker.report("error", ("languages",), f"{message}, like `language: en-US`", key=True)
    for path, text in texts(checker.doc.data):
        if isinstance(text, dict):
            _check_mapping(checker, path, text, known)
    for name, body in checker.states.items():
        chosen = map_of(body.get("set")).get("language")
        if "language" in map_of(body.get("set")) and chosen not in known:
            path = ("states", name, "set", "language")
            hint = (
                suggest(str(chosen), known, "the flow's languages are")
                if known
                else ("this flow speaks one language: list the others under `languages`")
            )
            message = f"`set: {{language: {chosen}}}` in state `{name}` names a language the flow"
            checker.report("error", path, f"{message} doesn't speak: {hint}")
    _check_no_templates(checker)


def _check_mapping(checker: Checker, path: Path, text: dict[str, Any], known: list[str]) -> None:
    what = name_of(path)
    for key in text:
        # A key that isn't even a language code is the schema's to report.
        if str(key) not in known and CODE.fullmatch(str(key)):
            hint = (
                suggest(str(key), known, "the flow's languages are")
                if known
                else ("name the flow's languages with `language` and `languages`")
            )
            message = f"`{key}` in {what} is not one of the flow's languages: {hint}"
            checker.report("error", (*path, key), message, key=True)
    missing = [language for language in known if language not in text]
    if missing:
        said = ", ".join(f"`{language}`" for language in missing)
        fallback = f"the `{known[0]}` text" if known[0] in text else "its first text"
        message = f"{what} has no text in {said}: callers in it hear {fallback}"
        checker.report("warning", path, message, key=True)


def _voices(checker: Checker) -> Iterator[tuple[Path, object]]:
    """Every `voice` and `language` of the flow, with its path."""
    data = checker.doc.data
    for key in ("voice", "language"):
        yield (key,), data.get(key)
    for language, settings in map_of(data.get("languages")).items():
        yield ("languages", language, "voice"), map_of(settings).get("voice")
    for name, body in checker.states.items():
        for i, item in enumerate(list_of(body.get("say"))):
            for key in ("voice", "language"):
                yield ("states", name, "say", i, key), map_of(item).get(key)


def _check_no_templates(checker: Checker) -> None:
    for path, value in _voices(checker):
        if isinstance(value, str) and "{{" in value:
            like = "like Polly.Lupe" if path[-1] == "voice" else "like es-US"
            message = (
                f"{name_of(path)} is `{value}`, a template: write the {path[-1]} itself, {like}"
                " (a conversation changes language with `set: {language: ...}`)"
            )
            checker.report("error", path, message)
