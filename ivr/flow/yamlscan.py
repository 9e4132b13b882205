"""YAML mistakes that parse without a word: found in the raw lines, next to the parsed nodes.

`#: menu` in `choices` is a comment to YAML, so the pound key silently stops being an answer;
`say: Press # to finish.` silently says only "Press". Both read fine to the person who wrote
them, so the text is looked at where the nodes say the choices and the prompts are written.
"""

from __future__ import annotations

import re

from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

from ivr.flow.problems import Path, Problem
from ivr.flow.yamlhints import quoted
from ivr.flow.yamlload import Document

# Keys whose values are said or texted, and, inside them, keys whose values are not.
PROMPTS = frozenset({"say", "no_input", "no_match", "help", "text", "body"})
_NOT_SAID = frozenset({"voice", "language", "play", "pause", "loop", "to", "from"})
# `#: menu`, `# , pound: menu`, `#, 0: menu`: an answer list starting with `#`, unquoted.
_COMMENTED_KEY = re.compile(r"#(?P<more>\s*(?:,[^:]*)?)\s*:(?:\s+(?P<target>[^#]*?))?\s*(?:#.*)?")
_COMMENTED_LINE = re.compile(r"^[ \t]*#[ \t]*[:,]", re.MULTILINE)
_COMMENT_AFTER = re.compile(r"(?P<space>\s+)#(?P<rest>.*)$")
_ANCHOR = re.compile(r"&(?P<name>[^\s,\[\]{}]+)\s+")
_ENDS_A_SENTENCE = tuple(".!?:;)\"'")


def _commented_keys(doc: Document, lines: list[str], path: Path, file: str) -> list[Problem]:
    line, column = doc.key_at(path)  # 1-based: `line` is also the index of the line below
    if line > len(lines) or not lines[line - 1].lstrip().startswith(str(path[-1])):
        return []
    written = doc.data if len(path) == 1 else doc.data["states"][path[1]]
    present = written.get(str(path[-1])) if isinstance(written, dict) else None
    problems = []
    for number in range(line, len(lines)):
        text = lines[number]
        stripped = text.strip()
        indent = len(text) - len(text.lstrip())
        if not stripped:
            continue
        if not stripped.startswith("#"):
            if indent < column:  # back at the level of `choices:` or further left
                break
            continue
        found = _COMMENTED_KEY.fullmatch(stripped)
        if indent < column or not found:
            continue
        answers = ", ".join(part.strip() for part in ("#" + found["more"]).split(","))
        if isinstance(present, dict) and answers in present:
            continue
        target = found["target"] or "STATE"
        message = (
            f"this line is a comment, not a choice: YAML reads everything from `#` on as a "
            f"comment, so `#` is not an answer here; put the answers in quotes: "
            f"{quoted(answers)}: {target}"
        )
        problems.append(Problem(file, number + 1, indent + 1, "warning", message))
    return problems


def _said(node: Node) -> list[ScalarNode]:
    """The plain (unquoted) text scalars in a prompt's value."""
    if isinstance(node, ScalarNode):
        return (
            [node] if not node.style and isinstance(node.value, str) else []
        )  # C: "", Python: None
    if isinstance(node, SequenceNode):
        return [found for item in node.value for found in _said(item)]
    if isinstance(node, MappingNode):
        return [
            found
            for key, value in node.value
            if key.value not in _NOT_SAID
            for found in _said(value)
        ]
    return []


def _prompts(node: Node) -> list[ScalarNode]:
    """Every plain text said or texted anywhere in the flow."""
    if isinstance(node, SequenceNode):
        return [found for item in node.value for found in _prompts(item)]
    if not isinstance(node, MappingNode):
        return []
    found = []
    for key, value in node.value:
        if isinstance(key, ScalarNode) and key.value in PROMPTS:
            found += _said(value)
        else:
            found += _prompts(value)
    return found


def _cut_prompt(node: ScalarNode, lines: list[str], file: str) -> Problem | None:
    end = node.end_mark
    if end.line >= len(lines):
        return None
    comment = _COMMENT_AFTER.match(lines[end.line][end.column :])
    if comment is None:
        return None
    text = str(node.value)
    # A comment set off by several spaces after a finished sentence is a comment on purpose.
    if len(comment["space"]) > 1 and text.rstrip().endswith(_ENDS_A_SENTENCE):
        return None
    column = end.column + len(comment["space"])
    message = (
        f'the text stops at " #": YAML reads the rest of the line as a comment, so only "{text}" '
        "is said; if the # is part of the text, put the text in quotes"
    )
    start = node.start_mark
    if start.line == end.line:
        whole = f"{text}{comment['space']}#{comment['rest']}".rstrip()
        message += f": {(lines[start.line][: start.column] + quoted(whole)).strip()}"
    return Problem(file, end.line + 1, column + 1, "warning", message)


def _anchored_prompt(node: ScalarNode, lines: list[str], text: str, file: str) -> Problem | None:
    start = node.start_mark
    anchor = _ANCHOR.match(lines[start.line][start.column :]) if start.line < len(lines) else None
    if anchor is None or f"*{anchor['name']}" in text:  # an anchor used by an alias is meant
        return None
    said = str(node.value)
    message = (
        f"`&{anchor['name']}` at the start of the text is read as a YAML anchor and left out, "
        f'so only "{said}" is said: put the text in quotes: '
        f"{(lines[start.line][: start.column] + quoted(f'&{anchor[1]} {said}')).strip()}"
    )
    return Problem(file, start.line + 1, start.column + 1, "warning", message)


def scan(doc: Document, text: str, file: str) -> list[Problem]:
    """Warnings for text YAML read differently from how it looks: commented-out answers in
    `choices` and `shortcuts`, and prompts cut short by ` #` or by `&` read as an anchor."""
    # Most flows have none of these mistakes: a look at the whole text spares the walk.
    commented = _COMMENTED_LINE.search(text) is not None
    cut, anchored = " #" in text, "&" in text
    if doc.root is None or not (commented or cut or anchored):
        return []
    lines = text.splitlines()
    problems = []
    states = doc.data.get("states")
    paths: list[Path] = [("shortcuts",)] if "shortcuts" in doc.data and commented else []
    for name, body in states.items() if isinstance(states, dict) and commented else ():
        if isinstance(body, dict) and "choices" in body:
            paths.append(("states", name, "choices"))
    for path in paths:
        problems += _commented_keys(doc, lines, path, file)
    for node in _prompts(doc.root) if cut or anchored else ():
        found = (cut and _cut_prompt(node, lines, file)) or (
            anchored and _anchored_prompt(node, lines, text, file)
        )
        if found:
            problems.append(found)
    return problems
