"""One idea per module: no module of the package or of the benchmark is over 300 lines.

A module that grows past that is doing two things; the check runs with the tests so that the
one who pushes it over splits it, rather than the next one to touch it.
"""

from __future__ import annotations

from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PACKAGE, BENCH = ROOT / "ivr", ROOT / "bench"
LIMIT = 300


def too_long(root: Path, limit: int = LIMIT) -> dict[str, int]:
    """The modules under `root` with more than `limit` lines, and their lengths."""
    lengths = {
        str(path.relative_to(root.parent)): len(path.read_text(encoding="utf-8").splitlines())
        for path in root.rglob("*.py")
    }
    return {name: n for name, n in lengths.items() if n > limit}


def test_no_module_is_over_300_lines() -> None:
    assert too_long(PACKAGE) == {}
    assert too_long(BENCH) == {}


def test_the_check_sees_a_long_module(tmp_path: Path) -> None:
    package = tmp_path / "pkg"
    package.mkdir()
    (package / "short.py").write_text("x = 1\n" * LIMIT)
    (package / "long.py").write_text("x = 1\n" * (LIMIT + 1))
    assert too_long(package) == {"pkg/long.py": LIMIT + 1}
