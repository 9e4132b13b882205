"""Calling or texting every row of a CSV: paced, with a progress bar and a result file.

The result file has a line per row (to, status, sid, message) and is rewritten after every row,
so a run that is stopped halfway can be run again: rows already sent are skipped, never sent
twice. Statuses: sent, skipped (sent by an earlier run, or a number listed twice), refused
(Twilio or a check said no: see the message) and error (something broke: worth a rerun).
"""

from __future__ import annotations

import csv
import os
import sys
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TextIO

from ivr.outbound.rest import Refused
from ivr.outbound.start import check_variables

FIELDS = ("to", "status", "sid", "message")
# Problems that will fail every row the same way: stop the run instead of going through them.
FATAL_CODES = {"no_credentials", "no_public_url", "twilio_unreachable", "twilio_timeout"}
FATAL_TWILIO = {20003, 20404}
TRANSIENT_CODES = {"twilio_unreachable", "twilio_timeout", "twilio_error", "store_error"}

Send = Callable[[str, Mapping[str, str], bool | None], str]  # (to, variables, detect) -> sid
# The column that asks for answering-machine detection on a row's call (true or false; empty:
# as the command says). It is not a variable.
DETECT = "detect_machine"
_TRUTH = {"true": True, "yes": True, "1": True, "false": False, "no": False, "0": False, "": None}


@dataclass(frozen=True)
class Row:
    to: str
    variables: dict[str, str]
    detect_machine: bool | None = None


def read_rows(path: str) -> list[Row]:
    """The rows of a CSV with a `to` column; every other column is a variable."""
    try:
        with open(path, newline="", encoding="utf-8-sig") as f:
            reader = csv.DictReader(f)
            names = [(n or "").strip() for n in reader.fieldnames or []]
            if "to" not in names:
                raise Refused(
                    f"{path}: no `to` column (the first line must name the columns, e.g. to,name)",
                    "bad_csv",
                )
            check_variables({n: "" for n in names if n and n not in ("to", DETECT)})
            rows = []
            for raw in reader:
                cells = {
                    (k or "").strip(): (v or "").strip()
                    for k, v in raw.items()
                    if isinstance(v, str | None)
                }
                variables = {k: v for k, v in cells.items() if k and k not in ("to", DETECT)}
                detect = cells.get(DETECT, "").lower()
                if detect not in _TRUTH:
                    raise Refused(
                        f"{path}, line {reader.line_num}: `{DETECT}` is {cells[DETECT]!r}; "
                        "write true or false (or leave it empty)",
                        "bad_csv",
                    )
                rows.append(Row(cells.get("to", ""), variables, _TRUTH[detect]))
            return rows
    except OSError as exc:
        raise Refused(f"can't read {path}: {exc.strerror}", "bad_csv") from exc
    except (UnicodeDecodeError, csv.Error) as exc:
        raise Refused(f"{path} is not a UTF-8 CSV file: {exc}", "bad_csv") from exc


def read_results(path: str) -> dict[str, dict[str, str]]:
    """The numbers an earlier run reached: number -> its result line."""
    try:
        with open(path, newline="", encoding="utf-8") as f:
            lines = list(csv.DictReader(f))
    except FileNotFoundError:
        return {}
    except (OSError, UnicodeDecodeError, csv.Error) as exc:
        raise Refused(f"can't read the result file {path}: {exc}", "bad_csv") from exc
    return {
        line["to"]: line
        for line in lines
        if line.get("sid") and line.get("status") in ("sent", "skipped")
    }


def write_results(path: str, lines: list[dict[str, str]]) -> None:
    # Written whole and swapped in, so an interrupted run never leaves half a file behind.
    temp = f"{path}.tmp"
    with open(temp, "w", newline="", encoding="utf-8") as f:
        writer = csv.DictWriter(f, FIELDS)
        writer.writeheader()
        writer.writerows(lines)
    os.replace(temp, path)


class Progress:
    """`[#####     ] 12/30` on stderr: redrawn in place on a terminal, a line each step else."""

    WIDTH = 30

    def __init__(self, total: int, stream: TextIO | None = None) -> None:
        self.total = total
        self.stream = stream or sys.stderr
        self.tty = self.stream.isatty()
        self.shown = -1

    def show(self, done: int) -> None:
        filled = self.WIDTH * done // self.total if self.total else self.WIDTH
        if not self.tty and filled == self.shown and done != self.total:
            return
        self.shown = filled
        bar = f"[{'#' * filled}{' ' * (self.WIDTH - filled)}] {done}/{self.total}"
        self.stream.write(f"\r{bar}" if self.tty else f"{bar}\n")
        self.stream.flush()

    def note(self, line: str) -> None:
        self.stream.write(f"\r\x1b[K{line}\n" if self.tty else f"{line}\n")
        self.stream.flush()

    def close(self) -> None:
        if self.tty:
            self.stream.write("\n")


class Pacer:
    """At most `rate` sends a second, spread evenly."""

    def __init__(
        self,
        rate: float,
        sleep: Callable[[float], None] = time.sleep,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.interval = 1.0 / rate
        self.sleep = sleep
        self.clock = clock
        self.next_at = 0.0

    def wait(self) -> None:
        now = self.clock()
        if self.next_at > now:
            self.sleep(self.next_at - now)
        self.next_at = max(now, self.next_at) + self.interval


def run_bulk(
    rows: list[Row],
    send: Send,
    results: str,
    *,
    rate: float,
    what: str,
    defaults: Mapping[str, str],
    stream: TextIO | None = None,
) -> int:
    """Send to every row; 0 when all were sent or skipped, 1 when some were not, 2 if stopped."""
    earlier = read_results(results)
    progress = Progress(len(rows), stream)
    pacer = Pacer(rate)
    lines: list[dict[str, str]] = []
    seen: set[str] = set()
    counts: dict[str, int] = {}
    stopped = False
    progress.show(0)
    for row in rows:
        line = {"to": row.to, "status": "skipped", "sid": "", "message": ""}
        if row.to in earlier:
            line.update(sid=earlier[row.to]["sid"], message="sent by an earlier run")
        elif row.to and row.to in seen:
            line.update(message="the number is listed more than once; sent once")
        else:
            seen.add(row.to)
            pacer.wait()
            try:
                values = {**defaults, **row.variables}
                line.update(status="sent", sid=send(row.to, values, row.detect_machine))
            except Refused as refused:
                transient = refused.code in TRANSIENT_CODES
                line.update(status="error" if transient else "refused", message=refused.message)
                progress.note(f"error: {refused.message}")
                stopped = refused.code in FATAL_CODES or refused.twilio_code in FATAL_TWILIO
        counts[line["status"]] = counts.get(line["status"], 0) + 1
        lines.append(line)
        write_results(results, lines + _unreached(rows[len(lines) :], earlier))
        progress.show(len(lines))
        if stopped:
            break
    progress.close()
    summary = ", ".join(f"{n} {status}" for status, n in sorted(counts.items()))
    print(f"{what}: {summary}; results in {results}", file=progress.stream)
    if stopped:
        print(
            f"stopped after row {len(lines)} of {len(rows)}: run the same command again to "
            "go on (rows already sent are skipped)",
            file=progress.stream,
        )
        return 2
    return 0 if set(counts) <= {"sent", "skipped"} else 1


def _unreached(rows: list[Row], earlier: Mapping[str, dict[str, str]]) -> list[dict[str, str]]:
    # Rows this run has not reached keep what an earlier run knew about them.
    return [dict(earlier[r.to]) for r in rows if r.to in earlier]


def default_results(csv_path: str) -> str:
    return str(Path(csv_path).with_name(Path(csv_path).name + ".results.csv"))
