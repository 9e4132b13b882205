"""YAML syntax errors told in the words of the mistake a person made, with the line to type.

PyYAML says where it gave up and what token it wanted; a person needs to hear "this text has a
`: ` in it, put it in quotes". So when parsing fails, the raw line at (or just above) the error
mark is matched against the mistakes people make by hand, and the message says what to type
instead, with the corrected line when one can be made. A mistake not recognised here keeps the
parser's own words (see `yamlload`).
"""

from __future__ import annotations

import re

import yaml

Spot = tuple[int, int]

# `  - key: value`, split into its lead (indent, list dashes, key and colon) and the value.
_LINE = re.compile(
    r"""^(?P<indent>\s*)(?P<dashes>(?:-\s+)*)
    (?:(?P<key>"[^"]*"|'[^']*'|[^\s#'"{\[&*!|>%@`-][^#]*?|-[^\s#][^#]*?)(?P<colon>\s*:(?:\s+|$)))?
    (?P<value>.*?)\s*$""",
    re.VERBOSE,
)
# What YAML reads at the start of a value, and what it makes of it.
_STARTS = {
    "{": "`{` at the start of a WHAT begins a mapping in YAML",
    "[": "`[` at the start of a WHAT begins a list in YAML",
    "&": "`&` at the start of a WHAT names an anchor in YAML",
    "*": "a `*` starts an alias (`*name`) in YAML, so a WHAT can't start with it",
    "|": "`|` at the start of a WHAT begins a block of text on the lines below in YAML",
    ">": "`>` at the start of a WHAT begins a block of text on the lines below in YAML",
    "@": "YAML keeps `@` for itself: a WHAT can't start with it",
    "`": "YAML keeps `` ` `` for itself: a WHAT can't start with it",
    "%": "`%` at the start of a WHAT is read as a YAML directive",
    "!": "`!` at the start of a WHAT is read as a YAML tag",
    "-": "`- ` at the start of a WHAT begins a list item in YAML",
}
_COMMENT = re.compile(r"\s+#")  # where YAML would have ended the text, had it read it
_KEYLIKE = re.compile(r"(?P<key>[^\s:][^:]*?)\s*:(?:\s+(?P<rest>.*)|$)")


def quoted(text: str) -> str:
    """`text` in YAML quotes that keep it exactly: double quotes unless it holds `"` or `\\`."""
    if '"' not in text and "\\" not in text:
        return f'"{text}"'
    return "'" + text.replace("'", "''") + "'"


def _split(line: str) -> re.Match[str] | None:
    return _LINE.match(line)


def _fixed(parts: re.Match[str], value: str) -> str:
    """The line again, with `value` quoted after its key (and its comment left out)."""
    lead = parts["indent"] + parts["dashes"]
    if parts["key"]:
        lead += parts["key"] + ": "
    return (lead + quoted(_COMMENT.split(value, maxsplit=1)[0])).strip()


def _named(parts: re.Match[str]) -> str:
    return f"the text after `{parts['key'].strip()}:`" if parts["key"] else "this text"


def _colon(lines: list[str], line: int, column: int) -> tuple[Spot, str] | None:
    parts = _split(lines[line])
    if not parts:
        return None
    value_at = parts.start("value")
    if column < value_at or not parts["value"]:  # the key's own colon: indented too deep
        above = _previous(lines, line)
        under = _split(lines[above]) if above is not None else None
        if under and under["key"] and parts["key"]:
            message = (
                f"this line is indented more than `{under['key'].strip()}:` above it, so YAML "
                f"reads it as part of that value: line `{parts['key'].strip()}:` up with "
                f"`{under['key'].strip()}:` (same number of spaces)"
            )
            return (line + 1, len(parts["indent"]) + 1), message
        return None
    message = (
        f'{_named(parts)} has ": " in it, which YAML reads as the start of another key: '
        f"put the text in quotes: {_fixed(parts, parts['value'])}"
    )
    return (line + 1, value_at + 1), message


def _previous(lines: list[str], line: int) -> int | None:
    for above in range(line - 1, -1, -1):
        if lines[above].strip() and not lines[above].lstrip().startswith("#"):
            return above
    return None


def _start(lines: list[str], line: int) -> tuple[Spot, str] | None:
    """A value that starts with a character YAML reads as syntax (`{`, `*`, `@`, `>`, ...)."""
    parts = _split(lines[line])
    if not parts or not parts["value"]:
        return None
    value = parts["value"]
    first = value[0]
    if first in "\"'":
        return _quote_then_text(parts, line)
    if first == "-" and not value.startswith("- "):
        return None
    if first not in _STARTS:
        return None
    written = _COMMENT.split(value, maxsplit=1)[0]
    if first in "{[" and not value.startswith("{{") and written.endswith("}]"[first == "["]):
        return None  # a whole mapping or list, written on one line: not the mistake
    key = None if parts["key"] or first in "{[" else _KEYLIKE.fullmatch(value)
    if key:  # `*: menu`: it is the key that needs the quotes
        fixed = parts["indent"] + parts["dashes"] + quoted(key["key"]) + ":"
        fixed = (fixed + (" " + key["rest"] if key["rest"] else "")).strip()
        return (line + 1, parts.start("value") + 1), (
            f"{_STARTS[first].replace('WHAT', 'key')}: put the key in quotes: {fixed}"
        )
    message = (
        f"{_STARTS[first].replace('WHAT', 'value')}: put the text in quotes: {_fixed(parts, value)}"
    )
    return (line + 1, parts.start("value") + 1), message


def _quote_then_text(parts: re.Match[str], line: int) -> tuple[Spot, str] | None:
    value, mark = parts["value"], parts["value"][0]
    end = value.find(mark, 1)
    if end < 0 or value[end + 1 :].strip()[:1] in ("", "#"):
        return None
    message = (
        f"the text starts with a quote, so YAML takes it to end at the closing quote and can't "
        f"read what follows: put the whole text in quotes: {_fixed(parts, value)}"
    )
    return (line + 1, parts.start("value") + 1), message


def _unclosed(lines: list[str], line: int, column: int) -> tuple[Spot, str]:
    text = lines[line] if line < len(lines) else ""
    mark = text[column] if column < len(text) else '"'
    message = f"the quote that starts here never ends: add a closing {mark} at the end of the text"
    parts = _split(text)
    if parts and parts["value"].startswith(mark) and parts["value"].count(mark) == 1:
        lead = parts["indent"] + parts["dashes"] + (parts["key"] + ": " if parts["key"] else "")
        message += f": {(lead + parts['value'] + mark).strip()}"
    return (line + 1, column + 1), message


def _no_dash(lines: list[str], line: int) -> tuple[Spot, str] | None:
    """A line that is neither `key: value` nor `- item`, in a list or a mapping."""
    text = lines[line]
    indent = len(text) - len(text.lstrip())
    above = _previous(lines, line)
    before = lines[above] if above is not None else ""
    if before.lstrip().startswith("- ") and len(before) - len(before.lstrip()) == indent:
        fixed = f"{text[:indent]}- {text.strip()}".strip()
        above_parts = _split(before)
        also = (
            " (or, if no list was meant, remove the `- ` above)"
            if (above_parts and above_parts["key"])
            else ""
        )
        message = (
            f"this line is not a list item but the one above it is{also}: "
            f"to make it another item, start it with `- ` like the line above it: {fixed}"
        )
    elif (owner := _split(before)) and owner["key"] and not owner["value"]:
        key = owner["key"].strip()
        fixed = (owner["indent"] + owner["dashes"] + f"{key}: {text.strip()}").strip()
        message = (
            f"this line is not indented under `{key}:` above it, so it isn't its value: indent "
            f"it two more spaces than `{key}:`, or put it on the same line: {fixed}"
        )
    else:
        message = (
            "this line is neither `key: value` nor a list item `- ...`: add the `:` after its "
            "key, start it with `- `, or join it to the line above"
        )
    return (line + 1, indent + 1), message


def _unbalanced(value: str) -> bool:
    mark, body = value[0], value[1:]
    body = body.replace("''", "") if mark == "'" else re.sub(r"\\.", "", body)
    return mark not in body


def _open_quote(lines: list[str], first: int, last: int) -> tuple[Spot, str] | None:
    """A quote opened on one line and never closed there, which YAML reads on past it."""
    for number in range(first, min(last, len(lines) - 1) + 1):
        parts = _split(lines[number])
        if parts and parts["value"][:1] in ("'", '"') and _unbalanced(parts["value"]):
            return _unclosed(lines, number, parts.start("value"))
    return None


def _misaligned(lines: list[str], line: int, block: yaml.Mark) -> tuple[Spot, str] | None:
    """A line that doesn't line up with the keys of the block it stands in."""
    text, owner = lines[line], _split(lines[block.line])
    if not owner or not owner["key"]:
        return None
    indent = len(text) - len(text.lstrip())
    key, at = owner["key"].strip(), block.line + 1
    if text.lstrip().startswith("- ") and indent == block.column:
        return (line + 1, indent + 1), (
            f"a list item (`- `) can't stand among `key: value` lines like `{key}:` (line {at}): "
            "remove the `- `, or indent the list under the key it belongs to"
        )
    if indent == block.column:
        return None
    how = "more" if indent > block.column else "less"
    return (line + 1, indent + 1), (
        f"this line is indented {how} than `{key}:` (line {at}) in the same block: line it up "
        f"with `{key}:` ({block.column} spaces), or with the key it belongs under"
    )


def _indented_start(lines: list[str], line: int) -> tuple[Spot, str] | None:
    first = next((n for n, text in enumerate(lines) if text.strip() and text.strip()[0] != "#"), 0)
    indent = len(lines[first]) - len(lines[first].lstrip())
    if not indent or first >= line:
        return None
    return (first + 1, 1), (
        "the first key of the file is indented: the top-level keys (`description:`, `states:` "
        "...) start at the beginning of the line, with no spaces before them"
    )


def explain(error: yaml.MarkedYAMLError, lines: list[str]) -> tuple[Spot, str] | None:
    """Where a syntax error is, and what to type instead, when it is a mistake we know."""
    mark, context = error.problem_mark, error.context_mark
    problem, where = error.problem or "", error.context or ""
    if "quoted scalar" in where and context is not None:
        return _unclosed(lines, context.line, context.column)
    if "simple key" in where and context is not None and context.line < len(lines):
        return _open_quote(lines, context.line, context.line) or _no_dash(lines, context.line)
    if mark is None or mark.line >= len(lines):
        return None
    if "\t" in lines[mark.line][: mark.column + 1]:
        return None  # the tab message says it best
    if "mapping values are not allowed" in problem:
        return _colon(lines, mark.line, mark.column)
    if "'-' indicator" in problem:
        return _no_dash(lines, mark.line)
    candidates = [mark.line]
    if context is not None and context.line != mark.line:
        candidates.append(context.line)
    above = _previous(lines, mark.line)
    if above is not None:
        candidates.append(above)
    for line in candidates:
        found = _start(lines, line)
        if found:
            return found
    if "document start" in problem:
        return _open_quote(lines, 0, mark.line) or _indented_start(lines, mark.line)
    if context is None or "block mapping" not in where:
        return None
    return _open_quote(lines, context.line, mark.line) or _misaligned(lines, mark.line, context)
