"""The server's logs: timestamped lines or JSON, uvicorn's own included, and the start banner."""

from __future__ import annotations

import datetime as dt
import json
import logging
import sys
from collections.abc import Iterable

from ivr import __version__
from ivr.settings import Settings, redacted

TEXT = "%(asctime)s %(levelname)s %(name)s: %(message)s"
CHANNELS = ("voice", "sms")


class JsonFormatter(logging.Formatter):
    """One JSON object a line: time (UTC, ISO 8601), level, logger, message, and any error."""

    def format(self, record: logging.LogRecord) -> str:
        entry = {
            "time": dt.datetime.fromtimestamp(record.created, dt.UTC).isoformat(
                timespec="milliseconds"
            ),
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": record.getMessage(),
        }
        if record.exc_info:
            entry["error"] = self.formatException(record.exc_info)
        return json.dumps(entry, ensure_ascii=False)


def configure_logging(settings: Settings) -> None:
    """Send every log (ours and uvicorn's) to stderr, in the settings' format and level."""
    handler = logging.StreamHandler(sys.stderr)
    if settings.log_format == "json":
        handler.setFormatter(JsonFormatter())
    else:
        handler.setFormatter(logging.Formatter(TEXT))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    level = settings.log_level.upper()
    root.setLevel(logging.DEBUG if level == "TRACE" else level)
    for name in ("uvicorn", "uvicorn.error", "uvicorn.access"):
        # uvicorn's records go the same way as ours, once.
        logger = logging.getLogger(name)
        logger.handlers[:] = []
        logger.propagate = True
    logging.getLogger("uvicorn.access").disabled = not settings.access_log


def banner(settings: Settings, flows: Iterable[str]) -> list[str]:
    """What `ivr serve` logs as it starts: version, flows, store, addresses and webhooks."""
    names = sorted(flows)
    own = f"http://{settings.host}:{settings.port}"
    public = settings.public_url or own
    shown = settings.public_url or (
        "not set: signatures are checked against the URL each request arrives on"
    )
    lines = [
        f"ivr {__version__}: {len(names)} flows from {settings.flows_dir} "
        f"({', '.join(names) or 'none'})",
        f"store {redacted(settings.store)}; listening on {own}, {settings.workers} worker(s); "
        f"public URL {shown}",
    ]
    for name in names:
        hooks = ", ".join(f"{channel} {public}/{channel}/{name}" for channel in CHANNELS)
        lines.append(f"flow {name}: {hooks}")
    return lines
