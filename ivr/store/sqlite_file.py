"""The SQLite store's watch on its file: refusing to write once it was deleted or replaced.

An open connection goes on writing to a file deleted or moved under it, and all of that is
lost at the next start: the store refuses instead, loudly, within `CHECK_EVERY` seconds.
"""

from __future__ import annotations

import logging
import os
from pathlib import Path

from ivr.store.base import StoreError

log = logging.getLogger("ivr.store")
CHECK_EVERY = 1.0  # seconds between looks at the file: a stat at every use cost each webhook


class FileWatch:
    """Mixed into `SQLiteStore`, which sets these attributes."""

    path: str
    _file: tuple[int, int] | None
    _gone_said: bool
    _next_check: float

    def _identity(self) -> tuple[int, int] | None:
        if self.path == ":memory:":
            return None
        try:
            found = os.stat(self.path)
        except OSError:
            return (-1, -1)
        return (found.st_dev, found.st_ino)

    def _check_file(self, now: float = 0.0) -> None:
        # A new connection (`now` 0) looks at once.
        if self._file is None or 0 < now < self._next_check:
            return
        if self._identity() == self._file:
            self._next_check = max(self._next_check, now + CHECK_EVERY)
            return
        self._next_check = 0.0  # found gone: every use from now on looks, and is refused
        if not self._gone_said:
            self._gone_said = True
            log.critical(
                "the database file %s was deleted or replaced while serving: nothing more is "
                "written to it: restart the server (with the file restored from a backup, or anew)",
                Path(self.path).resolve(),
            )
        raise StoreError(f"the database file {self.path} was deleted or replaced while serving")
