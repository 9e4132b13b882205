"""Matching what a caller pressed, said or texted against a state's answers.

One place for the contract's rules, used by keypad, speech and SMS alike:
case, surrounding spaces and trailing punctuation don't count; digits match exactly; on text and
speech one answer standing as whole words in a longer reply chooses it, two that do are a
no-match, and an exact answer always wins; shortcuts come after the state's own choices.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Literal

from ivr.flow.model import Choice

Kind = Literal["keys", "speech", "text"]

# Stripped from the end of an answer once inner spaces are folded to one " ". A regular
# expression anchored at the end would try every run of dots in a long text: quadratic.
_TRAILING = " .,!?;:…。！？"
_SPACES = re.compile(r"\s+")
_KEYS = re.compile(r"^[0-9*#]+$")
_NON_WORD = re.compile(r"[^\w#*+']+")
# Speech recognisers write "one" as often as "1"; a spoken digit answer should still match.
_SPOKEN_DIGITS = {
    "zero": "0",
    "oh": "0",
    "one": "1",
    "two": "2",
    "three": "3",
    "four": "4",
    "five": "5",
    "six": "6",
    "seven": "7",
    "eight": "8",
    "nine": "9",
    "star": "*",
    "pound": "#",
    "hash": "#",
}


def normalize(text: str) -> str:
    """Lower-case, trim, fold inner spaces and drop trailing punctuation."""
    return _SPACES.sub(" ", text.strip().lower()).rstrip(_TRAILING)


def is_keys(answer: str) -> bool:
    return bool(_KEYS.match(answer))


def _exact(choices: Sequence[Choice], said: str, kind: Kind) -> tuple[Choice, str] | None:
    for choice in choices:
        for answer in choice.answers:
            if kind == "keys":
                if answer == said:
                    return choice, answer
            elif normalize(answer) == said:
                return choice, answer
    return None


def _contained(choices: Sequence[Choice], said: str) -> tuple[Choice, str] | None | Literal[False]:
    """The one choice with an answer standing as whole words in `said`; False if several."""
    words = " " + _NON_WORD.sub(" ", said) + " "
    found: list[tuple[Choice, str]] = []
    for choice in choices:
        for answer in choice.answers:
            needle = normalize(answer)
            if needle and not is_keys(needle) and f" {needle} " in words:
                found.append((choice, answer))
                break
    if len(found) > 1:
        return False
    return found[0] if found else None


def spoken_to_keys(said: str) -> str:
    """ "one two" -> "12", so a spoken digit answer matches; other text is left alone."""
    parts = said.split()
    if parts and all(p in _SPOKEN_DIGITS for p in parts):
        return "".join(_SPOKEN_DIGITS[p] for p in parts)
    return said


def match(
    choices: Sequence[Choice],
    shortcuts: Sequence[Choice],
    raw: str,
    kind: Kind,
) -> tuple[Choice, str] | None:
    """The choice (and the answer as written in the flow) that `raw` selects, or None."""
    if kind == "keys":
        said = raw.strip()
        return _exact(choices, said, "keys") or _exact(shortcuts, said, "keys")
    said = normalize(raw)
    if not said:
        return None
    compact = said.replace(" ", "")
    candidates = [said]
    if kind == "speech":
        candidates.append(spoken_to_keys(said))
    if is_keys(compact):
        candidates.append(compact)
    for group in (choices, shortcuts):
        for text in candidates:
            hit = _exact(group, text, "text")
            if hit:
                return hit
    for group in (choices, shortcuts):
        contained = _contained(group, said)
        if contained is False:
            return None
        if contained:
            return contained
    return None


def exact_shortcut(shortcuts: Sequence[Choice], raw: str, kind: Kind) -> Choice | None:
    """In a state that saves any answer, only an exact shortcut is taken as the shortcut."""
    said = raw.strip() if kind == "keys" else normalize(raw)
    hit = _exact(shortcuts, said, "keys" if kind == "keys" else "text")
    return hit[0] if hit else None
