"""Shared fixtures: a real app in-process, a real `ivr serve` subprocess, signed requests."""

from __future__ import annotations

import contextlib
import functools
import os
import shutil
import socket
import sqlite3
import ssl
import subprocess
import sys
import time
import xml.etree.ElementTree as ET
from collections.abc import Callable, Generator, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import bytecode_cache
import httpx2
import pytest
import twilio_rest_standin as rest
from starlette.testclient import TestClient
from twilio.request_validator import RequestValidator

from ivr.settings import Settings
from ivr.store import Retention, Store, open_store
from ivr.web.app import create_app

ROOT = Path(__file__).resolve().parent.parent
TOKEN = "test-auth-token-0123456789abcdef"

bytecode_cache.share(ROOT / "ivr")  # before any test process starts: see there


def until(check: Callable[[], bool], what: str, seconds: float = 20) -> None:
    """Wait for `check()` to hold, looking every 20 ms; fail naming `what` after `seconds`."""
    deadline = time.monotonic() + seconds
    while not check():
        if time.monotonic() > deadline:
            raise AssertionError(f"waited {seconds} s for {what}")
        time.sleep(0.02)


def sign(url: str, form: dict[str, str], token: str = TOKEN) -> str:
    return str(RequestValidator(token).compute_signature(url, form))


@functools.cache
def _tls() -> ssl.SSLContext:
    return httpx2.create_ssl_context()


def http_client(timeout: float = 10, **options: Any) -> httpx2.Client:
    """A client for the servers the tests start. They speak plain HTTP on 127.0.0.1, but a new
    client reads the whole certificate store all the same (20 ms of CPU, more than most tests'
    requests): the clients of one test process share one, read once."""
    return httpx2.Client(timeout=timeout, verify=_tls(), **options)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class Twiml:
    """A parsed TwiML reply, with what a caller would hear and where it goes next."""

    status: int
    text: str
    root: ET.Element = field(init=False)

    def __post_init__(self) -> None:
        self.root = (
            ET.fromstring(self.text) if self.status == 200 and self.text else ET.Element("x")
        )

    def said(self) -> str:
        return " ".join((e.text or "") for e in self.root.iter("Say"))

    def messages(self) -> list[str]:
        return [e.findtext("Body") or e.text or "" for e in self.root.iter("Message")]

    def find(self, tag: str) -> ET.Element | None:
        return self.root.find(f".//{tag}")

    def verbs(self) -> list[str]:
        return [e.tag for e in self.root]


class Twilio:
    """Posts signed webhooks the way Twilio does, to an in-process app or a live server."""

    def __init__(self, client: TestClient | httpx2.Client, base: str, store: Store) -> None:
        self.client = client
        self.base = base.rstrip("/")
        self.store = store  # the server's store, to look at what it kept

    def post(self, path: str, form: dict[str, str], *, signature: str | None = None) -> Twiml:
        url = path if path.startswith("http") else self.base + path
        headers = {"X-Twilio-Signature": sign(url, form) if signature is None else signature}
        if signature == "":
            headers = {}
        r = self.client.post(url, data=form, headers=headers)
        return Twiml(r.status_code, r.text)

    def follow(self, twiml: Twiml, tag: str, form: dict[str, str]) -> Twiml:
        """Post to the action URL of the first `tag` verb (Gather, Record, Dial, Redirect)."""
        el = twiml.find(tag)
        assert el is not None, f"no <{tag}> in {twiml.text}"
        url = el.text if tag == "Redirect" else el.get("action")
        assert url
        return self.post(url, form)


def call_form(sid: str, **extra: str) -> dict[str, str]:
    form = {
        "CallSid": sid,
        "AccountSid": "AC" + "0" * 32,
        "From": "+15551230000",
        "To": "+15559990000",
        "Direction": "inbound",
        "CallStatus": "in-progress",
    }
    form.update(extra)
    return form


def sms_form(
    body: str, frm: str = "+15551230000", to: str = "+15559990000", **extra: str
) -> dict[str, str]:
    form = {
        "MessageSid": "SM" + os.urandom(16).hex(),
        "AccountSid": "AC" + "0" * 32,
        "From": frm,
        "To": to,
        "Body": body,
        "NumMedia": "0",
    }
    form.update(extra)
    return form


def copy_flows(folder: Path) -> Path:
    """A copy of the example flows plus the test flows, in `folder`/flows."""
    target = folder / "flows"
    target.mkdir()
    for src in list((ROOT / "flows").glob("*.yaml")) + list(
        (ROOT / "tests" / "flows").glob("*.yaml")
    ):
        shutil.copy(src, target / src.name)
    return target


@pytest.fixture
def flows_dir(tmp_path: Path) -> Path:
    """A copy of the example flows plus the test flows, in a folder the test may edit."""
    return copy_flows(tmp_path)


@pytest.fixture
def app_twilio(flows_dir: Path, tmp_path: Path) -> Iterator[Twilio]:
    """Twilio in front of the app in-process, with a real SQLite file."""
    settings = Settings(
        flows_dir=str(flows_dir), store=f"sqlite:///{tmp_path}/ivr.sqlite3", auth_token=TOKEN
    )
    app = create_app(settings)
    with TestClient(app, base_url="http://testserver") as client:
        yield Twilio(client, "http://testserver", app.state.services.store)


@pytest.fixture(params=["in-process", "served"])
def twilio(request: pytest.FixtureRequest, flows_dir: Path, tmp_path: Path) -> Iterator[Twilio]:
    """Twilio in front of the app in-process, then in front of `ivr serve` over HTTP."""
    if request.param == "in-process":
        yield request.getfixturevalue("app_twilio")
        return
    yield request.getfixturevalue("live")


@dataclass
class Server:
    port: int
    proc: subprocess.Popen[bytes]
    store: str
    log: Path

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def __enter__(self) -> Server:
        return self

    def __exit__(self, *exc: object) -> None:
        stop(self)


def start_server(
    flows: Path,
    store: str,
    log: Path,
    *extra: str,
    port: int = 0,
    env: dict[str, str] | None = None,
) -> Server:
    """`ivr serve` on `flows` and `store`, once it answers /health."""
    return ready(launch(flows, store, log, *extra, port=port, env=env))


def launch(
    flows: Path,
    store: str,
    log: Path,
    *extra: str,
    port: int = 0,
    env: dict[str, str] | None = None,
) -> Server:
    """`ivr serve`, started but not yet answering: see `ready`."""
    port = port or free_port()
    environ = {**os.environ, "TWILIO_AUTH_TOKEN": TOKEN, **(env or {})}
    with log.open("ab") as out:
        proc = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "ivr.cli",
                "serve",
                str(flows),
                "--port",
                str(port),
                "--store",
                store,
                *extra,
            ],
            stdout=out,
            stderr=subprocess.STDOUT,
            env=environ,
        )
    return Server(port, proc, store, log)


def ready(server: Server) -> Server:
    """Wait until a launched server answers /health (polled, with a deadline)."""
    deadline = time.monotonic() + 30
    # One client for all the looks: a new one each time costs more than the look itself.
    with http_client(timeout=1) as client:
        while time.monotonic() < deadline:
            if server.proc.poll() is not None:
                raise RuntimeError(f"ivr serve exited: {server.log.read_text()}")
            try:
                if client.get(server.url + "/health").status_code == 200:
                    return server
            except httpx2.HTTPError:
                time.sleep(0.02)
    server.proc.kill()
    raise RuntimeError(f"ivr serve did not start: {server.log.read_text()}")


@pytest.fixture
def server(flows_dir: Path, tmp_path: Path) -> Iterator[Server]:
    srv = start_server(flows_dir, f"sqlite:///{tmp_path}/ivr.sqlite3", tmp_path / "server.log")
    yield srv
    stop(srv)


def stop(server: Server) -> None:
    server.proc.terminate()
    server.proc.wait(10)


def forget_conversations(store: str) -> None:
    """Empty a server's SQLite store of conversations, messages and opt-outs (not of flow
    versions), so that a test on a shared server starts as on a fresh one."""
    with contextlib.closing(sqlite3.connect(store.removeprefix("sqlite:///"))) as db, db:
        db.executescript("DELETE FROM sessions; DELETE FROM messages; DELETE FROM opt_outs;")


@pytest.fixture(scope="module")
def shared_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """One `ivr serve` for a whole test module, on flows no test edits."""
    folder = tmp_path_factory.mktemp("served")
    srv = start_server(copy_flows(folder), f"sqlite:///{folder}/ivr.sqlite3", folder / "server.log")
    yield srv
    stop(srv)


@pytest.fixture
def live(shared_server: Server) -> Iterator[Twilio]:
    """Twilio in front of the module's `ivr serve`, its store emptied of earlier tests' calls."""
    forget_conversations(shared_server.store)
    store = open_store(shared_server.store)
    with http_client() as client:
        yield Twilio(client, shared_server.url, store)
    store.close()


@pytest.fixture
def standin() -> Iterator[rest.Standin]:
    """A stand-in of Twilio's REST API on 127.0.0.1."""
    server = rest.start()
    yield server
    server.close()


@pytest.fixture
def store_url(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path}/ivr.sqlite3"


@pytest.fixture
def flows(
    tmp_path: Path, standin: rest.Standin, store_url: str, monkeypatch: pytest.MonkeyPatch
) -> Path:
    """Outbound flows, with Twilio's settings pointing at the REST stand-in."""
    from outbound_support import twilio_env, use_env, write_flows

    use_env(monkeypatch, twilio_env(standin, store_url))
    return write_flows(tmp_path)


# The store contract's tests run once on each store: memory, an SQLite file and a real Redis.
# One redis-server per test process serves every module; a test that looks at what is in it
# empties it first (the `store` fixture does).
@pytest.fixture(scope="session")
def redis_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    from redis_server import start_redis  # it needs this module's helpers

    proc, url = start_redis(tmp_path_factory.mktemp("redis"))
    yield url
    proc.terminate()
    proc.wait(10)


@pytest.fixture
def retention() -> Retention | None:
    """The store's retention (None: the default); a module overrides it to watch it work."""
    return None


@pytest.fixture(params=["memory", "sqlite", "redis"])
def store(
    request: pytest.FixtureRequest, tmp_path: Path, retention: Retention | None
) -> Iterator[Store]:
    if request.param == "memory":
        s = open_store("memory://", retention)
    elif request.param == "sqlite":
        s = open_store(f"sqlite:///{tmp_path}/s.sqlite3", retention)
    else:
        url = request.getfixturevalue("redis_url")
        import redis

        redis.Redis.from_url(url).flushdb()
        s = open_store(url, retention)
    yield s
    s.close()


@pytest.hookimpl(wrapper=True)
def pytest_xdist_auto_num_workers(config: pytest.Config) -> Generator[None, int, int]:
    """`-n auto`: two workers a core. Half of the suite's time is spent waiting on the processes
    it starts (`ivr serve`, redis-server, Chromium), and a second worker on each core runs
    while the first one waits. PYTEST_XDIST_AUTO_NUM_WORKERS still says how many exactly."""
    cores = yield
    if os.environ.get("PYTEST_XDIST_AUTO_NUM_WORKERS"):
        return cores
    return 2 * cores


# The modules that take longest, longest first. Each module runs whole on one worker
# (--dist loadfile), in the order collected (--no-loadscope-reorder): one of these collected
# last would keep its worker busy long after the others ran out of work. They go first, and
# the short ones fill in.
LONGEST_FIRST = (
    "test_telling_e2e.py",
    "test_console_browser.py",
    "test_outbound_e2e.py",
    "test_e2e.py",
    "test_hardening_served.py",
    "test_fetch.py",
    "test_check_schema.py",
    "test_fuzz_webhooks.py",
    "test_metrics.py",
)


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    rank = {name: i for i, name in enumerate(LONGEST_FIRST)}
    items.sort(key=lambda item: rank.get(item.path.name, len(rank)))  # stable: the rest in order
