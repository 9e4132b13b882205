"""Strict YAML: plain values plus the line and column of every key and value.

Flow authors are not programmers, so the loader refuses what YAML would otherwise do silently:
a key written twice, `yes`/`no`/`on`/`off` turning into booleans, `01` turning into `1` as a
key, and documents built to explode (aliases of aliases), to be huge, or to not be text at all.
Each refusal is one `Problem`; nothing here raises.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

import yaml
from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

from ivr.flow import yamlhints
from ivr.flow.problems import Path, Problem

try:  # libyaml is several times faster; the pure-Python parser gives the same nodes.
    from yaml import CSafeLoader as _BaseLoader
except ImportError:  # pragma: no cover - depends on how PyYAML was built
    from yaml import SafeLoader as _BaseLoader  # type: ignore[assignment]

Spot = tuple[int, int]

MAX_BYTES = 1_000_000
MAX_ALIAS_NODES = 100_000  # values that aliases may add beyond those written out
MAX_DEPTH = 64

_PLAIN = "!ivr-plain"
_CORE = "tag:yaml.org,2002:"
_WORDS: dict[str, bool | None] = {"": None, "~": None, "null": None, "Null": None, "NULL": None}
_WORDS.update({word: True for word in ("true", "True", "TRUE")})
_WORDS.update({word: False for word in ("false", "False", "FALSE")})
_COLLECTIONS = (_CORE + "map", _CORE + "seq")
_NUMERIC = frozenset("0123456789+-.")
_INT = re.compile(r"[-+]?[0-9]+")
_FLOAT = re.compile(r"[-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?|[-+]?\.(inf|Inf|INF)")


class _Loader(_BaseLoader):
    def resolve(self, kind: type[Node], value: Any, implicit: tuple[bool, bool]) -> str:
        # Unquoted scalars are typed by `_scalar` below (YAML 1.2 rules), not by PyYAML's
        # YAML 1.1 resolver, which is where `no` becomes False and `08:00` becomes 480.
        if kind is ScalarNode and implicit[0]:
            return _PLAIN
        return str(super().resolve(kind, value, implicit))  # type: ignore[no-untyped-call]


@dataclass
class Document:
    """A loaded YAML mapping, and where each of its keys and values is written.

    Positions are looked up in the YAML nodes only when asked for (to report a problem), which
    keeps a clean load of a big flow from paying for them.
    """

    data: dict[str, Any]
    root: Node | None = None
    _keys: dict[int, dict[str, tuple[ScalarNode, Node]]] = field(default_factory=dict)

    def _pairs(self, node: MappingNode) -> dict[str, tuple[ScalarNode, Node]]:
        pairs = self._keys.get(id(node))
        if pairs is None:
            pairs = self._keys[id(node)] = {}
            merged: list[Node] = []
            for key_node, value_node in node.value:  # keys are all scalars: parse saw to it
                if key_node.value == "<<" and key_node.tag == _PLAIN:
                    merged += (
                        value_node.value if isinstance(value_node, SequenceNode) else [value_node]
                    )
                elif key_node.value not in pairs:
                    pairs[key_node.value] = (key_node, value_node)
            for source in merged:  # merged keys don't replace written ones
                if isinstance(source, MappingNode):
                    for key, pair in self._pairs(source).items():
                        pairs.setdefault(key, pair)
        return pairs

    def _find(self, path: Path) -> tuple[Node | None, Node | None, bool]:
        """The key node and value node at `path` (or its nearest parent), and whether found."""
        key: Node | None = None
        node = self.root
        for part in path:
            if isinstance(node, MappingNode):
                pair = self._pairs(node).get(part) if isinstance(part, str) else None
                if pair is None:
                    return key, node, False
                key, node = pair
            elif (
                isinstance(node, SequenceNode) and isinstance(part, int) and part < len(node.value)
            ):
                key, node = None, node.value[part]
            else:
                return key, node, False
        return key, node, True

    def at(self, path: Path) -> Spot:
        """Where the value at `path` starts, or its nearest parent when it isn't there."""
        node = self._find(path)[1]
        return _spot(node) if node is not None else (1, 1)

    def key_at(self, path: Path) -> Spot:
        """Where the key naming `path` is written (the value's spot for list items)."""
        key, node, found = self._find(path)
        return _spot(key if found and key is not None else node) if node is not None else (1, 1)

    def lines(self, path: Path) -> dict[str | int, int]:
        """The line of each key (or list item) of the mapping (or list) at `path`."""
        node = self._find(path)[1]
        if isinstance(node, MappingNode):  # with the keys merged in by `<<`
            return {key: pair[0].start_mark.line + 1 for key, pair in self._pairs(node).items()}
        return _lines(node)

    def lines_in_each(self, path: Path, key: str) -> dict[str, dict[str | int, int]]:
        """`lines` of the `key` of each entry of the mapping at `path`, all in one go."""
        node, found = self._find(path)[1], {}
        for name, (_, child) in self._pairs(node).items() if isinstance(node, MappingNode) else ():
            pair = self._pairs(child).get(key) if isinstance(child, MappingNode) else None
            if pair is not None:
                found[name] = _lines(pair[1])
        return found

    def text(self, path: Path, value: object) -> str:
        """A scalar as the author wrote it: `02134` stays `02134`, `true` stays `true`."""
        if isinstance(value, str):
            return value
        node, found = self._find(path)[1:]
        if found and isinstance(node, ScalarNode):
            return str(node.value)
        return "" if value is None else str(value)


class _Refused(Exception):
    def __init__(self, node: Node, message: str) -> None:
        super().__init__(message)
        self.node = node


def _lines(node: Node | None) -> dict[str | int, int]:
    if isinstance(node, MappingNode):  # the first of a key written twice; `<<` not followed
        return {key.value: key.start_mark.line + 1 for key, _ in reversed(node.value)}
    if isinstance(node, SequenceNode):
        return {i: item.start_mark.line + 1 for i, item in enumerate(node.value)}
    return {}


def _spot(node: Node) -> Spot:
    return (node.start_mark.line + 1, node.start_mark.column + 1)


def _scalar(node: ScalarNode) -> object:
    value: str = node.value
    tag = node.tag
    if tag == _PLAIN:
        if value in _WORDS:
            return _WORDS[value]
        if value[0] in _NUMERIC:
            if _INT.fullmatch(value):
                return int(value)
            if _FLOAT.fullmatch(value):
                return float(value)
        return value
    if tag == _CORE + "str":  # `!!str 01`: text, as quotes would make it
        return value
    shown = tag.replace(_CORE, "!!")
    raise _Refused(node, f"unknown tag `{shown}`: flows don't use YAML tags, remove it")


class _Builder:
    def __init__(self, anchored: bool) -> None:
        self.anchored = anchored  # without an anchor (`&name`) there can be no alias to follow
        self.seen: set[int] = set()
        self.active: set[int] = set()
        self.extra = 0
        self.problems: list[tuple[Spot, str]] = []

    def value(self, node: Node, depth: int) -> Any:
        if self.anchored:
            if id(node) in self.seen:
                self.extra += 1  # this node is reached again through an alias
                if self.extra > MAX_ALIAS_NODES:
                    raise _Refused(node, "aliases (`*name`) expand to too many values")
            self.seen.add(id(node))
        if isinstance(node, ScalarNode):
            return _scalar(node)
        if node.tag not in _COLLECTIONS:
            shown = node.tag.replace(_CORE, "!!")
            raise _Refused(node, f"unknown tag `{shown}`: flows don't use YAML tags, remove it")
        if depth > MAX_DEPTH:
            raise _Refused(node, f"values are nested more than {MAX_DEPTH} levels deep")
        if id(node) in self.active:
            raise _Refused(node, "an alias (`*name`) refers to a value that contains it")
        if self.anchored:
            self.active.add(id(node))
        try:
            if isinstance(node, SequenceNode):
                return [self.value(item, depth + 1) for item in node.value]
            assert isinstance(node, MappingNode)
            return self.mapping(node, depth)
        finally:
            self.active.discard(id(node))

    def mapping(self, node: MappingNode, depth: int) -> dict[str, Any]:
        result: dict[str, Any] = {}
        merged: list[tuple[Node, Node]] = []
        for key_node, value_node in node.value:
            if not isinstance(key_node, ScalarNode):
                raise _Refused(key_node, "a key must be a word or text, not a list or mapping")
            key = key_node.value  # as written: `01` stays `01`, `yes` stays `yes`
            if key == "<<" and key_node.tag == _PLAIN:
                merged.append((key_node, value_node))
            elif key in result:
                first = next(k for k, _ in node.value if k.value == key).start_mark.line + 1
                message = f"`{key}` is written twice here (first on line {first})"
                self.problems.append((_spot(key_node), message))
            else:
                result[key] = self.value(value_node, depth + 1)
        for key_node, source in merged:  # `<<: *defaults`: keys written here win over merged
            for item in source.value if isinstance(source, SequenceNode) else [source]:
                if not isinstance(item, MappingNode):
                    raise _Refused(key_node, "`<<` merges a mapping (`<<: *name`), not a value")
                for key, value in self.mapping(item, depth).items():
                    result.setdefault(key, value)
        return result


def _syntax_problem(error: yaml.YAMLError, text: str) -> tuple[Spot, str]:
    if isinstance(error, yaml.MarkedYAMLError):
        mark = error.problem_mark or error.context_mark
        what = error.problem or "invalid YAML"
        lines = text.splitlines()
        known = yamlhints.explain(error, lines)
        if known:
            return known
        spot = (mark.line + 1, mark.column + 1) if mark else (1, 1)
        if mark and mark.line < len(lines) and "\t" in lines[mark.line][: mark.column + 1]:
            return spot, "a tab can't indent YAML: use spaces, as many as the lines around it"
        if "alias" in what + (error.context or ""):
            return spot, "a `*` starts an alias (`*name`) in YAML: put text with `*` in quotes"
        if "another document" in what:
            return spot, "the file holds more than one document (`---`): a flow is one document"
        if error.context:
            what = f"{what} {error.context}"
        return spot, (
            f"YAML can't read this line ({what}): check that it lines up with the lines around "
            "it, and put text with `:`, `#` or a quote in it in quotes"
        )
    if isinstance(error, yaml.reader.ReaderError):
        line = text.count("\n", 0, error.position) + 1
        column = error.position - (text.rfind("\n", 0, error.position) + 1) + 1
        code = error.character if isinstance(error.character, int) else ord(error.character)
        return (line, column), f"the control character U+{code:04X} is not allowed in a flow file"
    return (1, 1), f"YAML can't read the file ({error}): check its indentation and quotes"


def parse(text: str, file: str) -> tuple[Document | None, list[Problem]]:
    """Load flow text into a `Document`, or explain in `Problem`s why it can't be."""

    def refuse(spot: Spot, message: str) -> Problem:
        return Problem(file, spot[0], spot[1], "error", message)

    try:
        size = len(text) if len(text) > MAX_BYTES else len(text.encode("utf-8"))
    except UnicodeEncodeError as error:  # a lone surrogate: text that came from broken bytes
        line = text.count("\n", 0, error.start) + 1
        column = error.start - (text.rfind("\n", 0, error.start) + 1) + 1
        return None, [refuse((line, column), "the text is not valid Unicode: save it as UTF-8")]
    if size > MAX_BYTES:
        return None, [refuse((1, 1), "the file is over 1 MB: split it into several flows")]
    builder = _Builder("&" in text)
    loader = _Loader(text)
    try:
        root = loader.get_single_node()
        if root is None or (isinstance(root, ScalarNode) and _scalar(root) is None):
            return None, [refuse((1, 1), "the file is empty: a flow needs `states:`")]
        if not isinstance(root, MappingNode):
            kind = "a list" if isinstance(root, SequenceNode) else "a single value"
            message = f"the file holds {kind}: a flow is a mapping of keys like `states:`"
            return None, [refuse(_spot(root), message)]
        doc = Document(builder.mapping(root, 0), root)
    except yaml.YAMLError as error:
        return None, [refuse(*_syntax_problem(error, text))]
    except _Refused as error:
        return None, [refuse(_spot(error.node), str(error))]
    except RecursionError:
        return None, [refuse((1, 1), f"values are nested more than {MAX_DEPTH} levels deep")]
    finally:
        loader.dispose()
    # A key written twice is an error, but the rest of the file is still worth checking.
    return doc, [refuse(spot, message) for spot, message in builder.problems]
