"""Problems found in flow files, and the two ways of printing them.

Detection never formats and formatting never detects: checks build `Problem` records, and the
command line picks a formatter (plain text for people, annotations for GitHub Actions).
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Literal

Level = Literal["error", "warning"]
Path = tuple[str | int, ...]  # where in a flow: ("states", "welcome", "choices", "1, hours")


@dataclass(frozen=True)
class Problem:
    """One thing wrong with a flow file, at a 1-based line and column."""

    file: str
    line: int
    column: int
    level: Level
    message: str

    @property
    def sort_key(self) -> tuple[str, int, int, int, str]:
        # Errors before warnings at the same spot, so the cause reads first.
        return (self.file, self.line, self.column, 0 if self.level == "error" else 1, self.message)

    def __str__(self) -> str:
        return f"{self.file}:{self.line}:{self.column}: {self.level}: {self.message}"


def sort_problems(problems: Iterable[Problem]) -> list[Problem]:
    """The problems in reading order: by file, line, column, errors first."""
    return sorted(problems, key=lambda p: p.sort_key)


def has_errors(problems: Iterable[Problem]) -> bool:
    """True when any problem is an error (warnings alone still load)."""
    return any(p.level == "error" for p in problems)


def place(path: Path) -> str:
    """Where a path is, in words: "in state `welcome`", "in `gather` of state `welcome`"."""
    if len(path) >= 2 and path[0] in ("states", "hours"):
        owner = f"{'state' if path[0] == 'states' else 'hours'} `{path[1]}`"
        inner = [part for part in path[2:] if isinstance(part, str)]
        return f"in `{inner[-1]}` of {owner}" if inner else f"in {owner}"
    words = [part for part in path if isinstance(part, str)]
    return f"in `{words[-1]}`" if words else "at the top of the flow"


def name_of(path: Path) -> str:
    """What a path is, in words: "`next` in state `welcome`", "item 2 of `say` in ..."."""
    if not path:
        return "the flow"
    if len(path) == 2 and path[0] in ("states", "hours"):
        return place(path)[3:]
    if isinstance(path[-1], int):
        return f"item {path[-1] + 1} of {name_of(path[:-1])}"
    return f"`{path[-1]}` {place(path[:-1])}"


def _abbreviates(typed: str, word: str) -> bool:
    """`vm` abbreviates `voicemail`: same first letter, the rest in order."""
    if not typed or not word or typed[0] != word[0]:
        return False
    rest = iter(word[1:])
    return all(letter in rest for letter in typed[1:])


def _words(name: str) -> list[str]:
    return [w for w in name.lower().replace("-", "_").split("_") if w]


def closest(word: str, known: Iterable[str]) -> str | None:
    """The known name the author most likely meant: one they started typing (`book` for
    `booking`, `emergency_vm` for `emergency_voicemail`) before the nearest spelling."""
    names = list(dict.fromkeys(known))
    typed = word.lower()
    started = [n for n in names if len(typed) >= 2 and n.lower().startswith(typed)]
    parts = _words(word)
    shortened = [
        n
        for n in names
        if len(parts) > 1
        and len(_words(n)) == len(parts)
        and all(map(_abbreviates, parts, _words(n)))
    ]
    for tier in (started, shortened):
        if tier:
            return max(tier, key=lambda n: difflib.SequenceMatcher(None, typed, n.lower()).ratio())
    close = difflib.get_close_matches(word, names, n=1)
    return close[0] if close else None


def suggest(word: str, known: Iterable[str], listing: str, limit: int = 12) -> str:
    """ "did you mean `booking`?", else the known names (when few), else a nudge."""
    names = list(known)
    close = closest(word, names)
    if close:
        return f"did you mean `{close}`?"
    if not names or len(names) > limit:
        return "check the spelling"
    return f"{listing} " + ", ".join(f"`{name}`" for name in names)


def format_text(problems: Iterable[Problem]) -> str:
    """`FILE:LINE:COLUMN: error|warning: message`, one line per problem (no final newline)."""
    return "\n".join(str(p) for p in sort_problems(problems))


def _escape_data(text: str) -> str:
    # GitHub's workflow-command encoding: without it a `%` or a newline cuts the message short.
    return text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def _escape_property(text: str) -> str:
    return _escape_data(text).replace(":", "%3A").replace(",", "%2C")


def format_github(problems: Iterable[Problem]) -> str:
    """GitHub Actions annotations: `::error file=F,line=L,col=C::message`, one per line."""
    lines = []
    for p in sort_problems(problems):
        where = f"file={_escape_property(p.file)},line={p.line},col={p.column}"
        lines.append(f"::{p.level} {where}::{_escape_data(p.message)}")
    return "\n".join(lines)
