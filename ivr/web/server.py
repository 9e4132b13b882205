"""`ivr serve`: check the flows and the store, then run the app on uvicorn."""

from __future__ import annotations

import contextlib
import logging
import os
import shutil
import sys
import tempfile
from collections.abc import Iterator, Mapping

import uvicorn
from starlette.applications import Starlette
from uvicorn.importer import import_from_string

from ivr.flow.model import Flow
from ivr.settings import WORKER_VARIABLE, Settings
from ivr.store import STORE_ERRORS, open_store, unusable
from ivr.web import limits
from ivr.web.app import FlowErrors, MissingToken, create_app, preflight
from ivr.web.logs import banner, configure_logging
from ivr.web.metrics import MULTIPROCESS

log = logging.getLogger("ivr")


def worker_settings() -> Settings:
    """In a uvicorn worker: the settings `serve` handed down, its logs and limits set."""
    settings = Settings.from_json(os.environ[WORKER_VARIABLE])
    configure_logging(settings)
    limits.configure(settings)
    return settings


def app_factory(flows: Mapping[str, Flow] | None = None) -> Starlette:
    """What each uvicorn worker runs: the app, from the settings `serve` handed down.

    `ivr serve` runs the console's factory instead when the console is on, which adds the
    console to this app. `flows`: already loaded and checked (by `serve`, in this process).
    """
    return create_app(worker_settings(), flows=flows)


def check_store(settings: Settings, flows: Mapping[str, Flow]) -> str | None:
    """Why the store can't be used (one line), or None: it is opened and written to once."""
    try:
        store = open_store(settings.store)
        try:
            store.open()
            # Every worker keeps the flows' versions at start: the same write, once, here.
            for flow in flows.values():
                store.keep_flow(flow.name, flow.version, flow.source)
        finally:
            store.close()
    except STORE_ERRORS as exc:
        return unusable(settings.store, exc)
    return None


def serve(settings: Settings, factory: str = "ivr.web.server:app_factory") -> int:
    """Check the flows, the token and the store, then run the workers; the exit status."""
    configure_logging(settings)
    try:
        flows = preflight(settings)  # the flows and the token, before any worker starts
    except FlowErrors as exc:
        print(exc.report, file=sys.stderr)
        print(
            "The server did not start: fix the errors above, then start it again.", file=sys.stderr
        )
        return 1
    except MissingToken as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    problem = check_store(settings, flows)
    if problem:
        print(f"error: {problem}", file=sys.stderr)
        return 1
    for line in banner(settings, flows):
        log.info("%s", line)
    # Workers are separate processes: they get the settings whole, through the environment.
    os.environ[WORKER_VARIABLE] = settings.to_json()
    with _shared_metrics(settings.workers):
        _run(settings, factory, flows)
    return 0


@contextlib.contextmanager
def _shared_metrics(workers: int) -> Iterator[None]:
    # Several workers count in files of one folder, which any worker's scrape adds up
    # (prometheus-client's multiprocess mode); a folder given is the operator's to empty.
    if workers < 2 or os.environ.get(MULTIPROCESS):
        yield
        return
    folder = tempfile.mkdtemp(prefix="ivr-metrics-")
    os.environ[MULTIPROCESS] = folder
    try:
        yield
    finally:
        del os.environ[MULTIPROCESS]
        shutil.rmtree(folder, ignore_errors=True)


def _run(settings: Settings, factory: str, flows: Mapping[str, Flow]) -> None:
    # One worker runs in this process: its app is built here, on the flows just loaded and
    # checked, rather than on a second reading of every flow file. Workers of their own
    # (separate processes) each build theirs from the factory.
    one = settings.workers == 1
    uvicorn.run(
        import_from_string(factory)(flows) if one else factory,
        factory=not one,
        host=settings.host,
        port=settings.port,
        workers=settings.workers,
        log_level=settings.log_level,
        log_config=None,  # ours (`configure_logging`), in every worker
        access_log=settings.access_log,
        http=limits.GuardedHttpToolsProtocol,
        ws="none",  # no route is a WebSocket: no WebSocket library loaded in every worker
        timeout_keep_alive=int(max(1, settings.keep_alive)),
        # In-flight requests a worker takes before answering 503; connections are bounded
        # by the protocol (`limits`), so this only ever counts requests.
        limit_concurrency=settings.max_connections + 1,
    )
