"""What an app holds is set where the app is built, once: no other module writes `app.state`.

The web app's services are set by `create_app` (ivr/web/app.py); the console, an app of its
own mounted in it, sets its own state where it is built (ivr/console/app.py). Anything else
that wrote there (a handler, a tool, middleware) would make what an app holds depend on what
ran before. The imports' direction is checked by import-linter; this, which it can't see, here.
"""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BUILDERS = {"ivr/web/app.py", "ivr/console/app.py"}


def state_writes(source: str) -> list[tuple[int, str]]:
    """(line, what) of every write to an attribute of something's `.state`."""
    found = []
    for node in ast.walk(ast.parse(source)):
        targets: list[ast.expr] = []
        if isinstance(node, ast.Assign):
            targets = node.targets
        elif isinstance(node, ast.AugAssign | ast.AnnAssign):
            targets = [node.target]
        elif isinstance(node, ast.Delete):
            targets = node.targets
        elif (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Name)
            and node.func.id in ("setattr", "delattr")
            and node.args
        ):
            targets = [node.args[0]]
            if isinstance(targets[0], ast.Attribute) and targets[0].attr == "state":
                found.append((node.lineno, ast.unparse(node)))
                continue
        for target in targets:
            if isinstance(target, ast.Attribute) and _on_state(target.value):
                found.append((node.lineno, ast.unparse(target)))
    return sorted(found)


def _on_state(node: ast.expr) -> bool:
    return isinstance(node, ast.Attribute) and node.attr == "state"


def test_the_check_sees_every_kind_of_write() -> None:
    source = (
        "app.state.a = 1\n"
        "request.app.state.b: int = 2\n"
        "app.state.c += 1\n"
        "setattr(app.state, 'd', 1)\n"
        "del app.state.e\n"
        "x = app.state.f\n"  # a read
        "app.state.g.add(1)\n"  # a call on what is there: not a write of app.state
    )
    assert [line for line, _ in state_writes(source)] == [1, 2, 3, 4, 5]


def test_only_the_modules_that_build_an_app_write_its_state() -> None:
    writers = {}
    for path in sorted((ROOT / "ivr").rglob("*.py")):
        name = path.relative_to(ROOT).as_posix()
        writes = state_writes(path.read_text())
        if writes and name not in BUILDERS:
            writers[name] = writes
    assert writers == {}


def test_the_web_app_sets_its_services_and_nothing_else() -> None:
    writes = state_writes((ROOT / "ivr/web/app.py").read_text())
    assert [what for _, what in writes] == ["app.state.services"]
