"""One bytecode cache for every process of a test run, where the environment says to write none.

Each `ivr serve` and `ivr` command a test starts is a new Python process. Where
PYTHONDONTWRITEBYTECODE is set (so that no __pycache__ lands in the source tree), every one of
them would compile the package again, and every test process would rewrite every test module's
asserts again: they share a cache in the temporary folder instead, outside the source tree.

A cache of its own means Python no longer reads the bytecode pip wrote beside the installed
packages, so the first run in a new virtualenv would compile them too, in every process at once
(about ten seconds of a first run here). The process that starts the others copies that bytecode
into the cache once, and compiles the package, before any other process starts.
"""

from __future__ import annotations

import compileall
import os
import shutil
import sys
import tempfile
from pathlib import Path


def share(package: Path) -> None:
    if not sys.dont_write_bytecode or sys.pycache_prefix:
        return
    cache = Path(tempfile.gettempdir()) / f"ivr-tests-bytecode-{os.getuid()}"
    os.environ.pop("PYTHONDONTWRITEBYTECODE", None)
    os.environ["PYTHONPYCACHEPREFIX"] = str(cache)
    sys.dont_write_bytecode = False
    sys.pycache_prefix = str(cache)
    if "PYTEST_XDIST_WORKER" not in os.environ:  # the process that starts the workers
        for site in sorted({p for p in sys.path if p.endswith("site-packages")}):
            _seed(cache, Path(site))
        compileall.compile_dir(package, quiet=1)


def _seed(cache: Path, site: Path) -> None:
    """The installed packages' bytecode, as pip wrote it, copied into the cache, once."""
    tag = sys.implementation.cache_tag
    done = cache / str(site).lstrip(os.sep) / f".seeded-{tag}"
    if done.exists():
        return
    for folder in site.rglob("__pycache__"):
        target = cache / str(folder.parent).lstrip(os.sep)
        target.mkdir(parents=True, exist_ok=True)
        for pyc in folder.glob(f"*.{tag}.pyc"):
            copy = target / pyc.name
            if copy.exists():
                continue
            try:
                os.link(pyc, copy)  # the same bytes; a link where the file system allows it
            except OSError:
                shutil.copyfile(pyc, copy)
    done.parent.mkdir(parents=True, exist_ok=True)
    done.touch()
