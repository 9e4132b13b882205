"""`{{ NAME }}` and `{{ NAME | spell }}` in prompts: text substitution, never evaluation.

`{{ secret.NAME }}` is a slot too, filled only where a `fetch` is sent: everywhere else no
mapping holds it, so it stays empty.

A template is split once into literal text and variable slots (cached, as the same prompts are
rendered on every call), then filled from a mapping of strings. Nothing a caller says or texts
is ever parsed as a template: values are pasted in as they are.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Collection, Mapping
from dataclasses import dataclass
from functools import lru_cache

from ivr.flow.problems import closest

FILTERS = ("spell",)
SECRET = "secret."
_SLOT = re.compile(
    r"\{\{\s*((?:secret\.)?[A-Za-z_][A-Za-z0-9_]*)\s*(?:\|\s*([A-Za-z_][A-Za-z0-9_]*)\s*)?\}\}"
)
_OPEN = re.compile(r"\{\{")


@dataclass(frozen=True)
class Slot:
    name: str
    filter: str | None
    start: int  # offset of `{{` in the template, for pointing at it


Piece = str | Slot


@lru_cache(maxsize=4096)
def parse(template: str) -> tuple[Piece, ...]:
    """The template as literal strings and `Slot`s, in order."""
    pieces: list[Piece] = []
    position = 0
    for match in _SLOT.finditer(template):
        if match.start() > position:
            pieces.append(template[position : match.start()])
        pieces.append(Slot(match.group(1), match.group(2), match.start()))
        position = match.end()
    if position < len(template):
        pieces.append(template[position:])
    return tuple(pieces)


def spell(value: str) -> str:
    """Characters separated by spaces, so a voice reads `+15551234` as `+ 1 5 5 5 1 2 3 4`."""
    return " ".join(character for character in value if not character.isspace())


def render(
    template: str, variables: Mapping[str, str], escape: Callable[[str], str] | None = None
) -> str:
    """Fill the template's slots from `variables`; an unset variable is empty.

    `escape`, when given, is applied to every value filled in (not to the template's own text):
    a URL's values are percent-encoded so that they stay values.
    """
    if "{{" not in template:
        return template
    out: list[str] = []
    for piece in parse(template):
        if isinstance(piece, str):
            out.append(piece)
            continue
        value = variables.get(piece.name, "")
        if piece.filter == "spell":
            value = spell(value)
        out.append(escape(value) if escape else value)
    return "".join(out)


def secrets(template: str) -> list[str]:
    """The secrets the template names (`CLINIC_API` for `{{ secret.CLINIC_API }}`)."""
    return [name[len(SECRET) :] for name in names(template) if name.startswith(SECRET)]


def names(template: str) -> list[str]:
    """The variable names the template uses, in order, each once."""
    if "{{" not in template:
        return []
    found = [piece.name for piece in parse(template) if isinstance(piece, Slot)]
    return list(dict.fromkeys(found))


def mistakes(template: str) -> list[str]:
    """What is wrong with the template's `{{ }}` slots, in words (empty when nothing is)."""
    if "{{" not in template:
        return []
    found: list[str] = []
    slots = {piece.start: piece for piece in parse(template) if isinstance(piece, Slot)}
    for match in _OPEN.finditer(template):
        slot = slots.get(match.start())
        if slot is None:
            end = template.find("}}", match.start())
            shown = template[match.start() : end + 2 if end >= 0 else match.start() + 20]
            found.append(
                f"`{shown}` is not a template: write `{{{{ name }}}}` or `{{{{ name | spell }}}}`"
                " with a variable name of letters, digits and `_`"
            )
        elif slot.filter is not None and slot.filter not in FILTERS:
            found.append(f"unknown filter `{slot.filter}`: the only filter is `spell`")
    return found


def check(template: str, known: Collection[str]) -> list[str]:
    """Warnings about a template: malformed slots, and variables not in `known`."""
    found = mistakes(template)
    for name in names(template):
        if name not in known and not name.startswith(SECRET):
            close = closest(name, known)
            hint = f": did you mean `{close}`?" if close else ""
            found.append(f"`{{{{ {name} }}}}` names a variable nothing sets{hint}")
    return found
