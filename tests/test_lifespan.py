"""The app's resources: the store made by `create_app` but opened and closed by the lifespan,
a store that can't be opened refusing the start in one line, and the REST client given to
`create_app` carrying delivery's texts."""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
import twilio_rest_standin as rest
from conftest import ROOT, TOKEN, call_form, free_port, sign
from redis_server import start_redis, stop_redis
from starlette.testclient import TestClient

from ivr.outbound.rest import make_client
from ivr.settings import WORKER_VARIABLE, Settings
from ivr.store import open_store
from ivr.store.base import Outgoing, Store
from ivr.store.sqlite import SQLiteStore
from ivr.web.app import StartupRefused, create_app

BASE = "http://testserver"
FLOW = """\
description: Texts the caller the address
states:
  start:
    say: I've texted you our address.
    text: "Acme, 12 Main St, Springfield."
"""


def tables(path: Path) -> set[str]:
    with sqlite3.connect(path) as db:
        return {r[0] for r in db.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}


@pytest.fixture
def flows(tmp_path: Path) -> Path:
    folder = tmp_path / "flows"
    folder.mkdir()
    (folder / "address.yaml").write_text(FLOW)
    return folder


def test_the_app_opens_its_store_when_it_starts_and_closes_it_when_it_stops(
    flows: Path, tmp_path: Path
) -> None:
    db = tmp_path / "data" / "ivr.sqlite3"
    app = create_app(Settings(flows_dir=str(flows), store=f"sqlite:///{db}", auth_token=TOKEN))
    assert not db.parent.exists()  # made, not opened: no folder, no file, no tables yet
    store = app.state.services.store
    assert isinstance(store, SQLiteStore)
    with TestClient(app, base_url=BASE) as client:
        assert {"sessions", "outbox", "flow_versions"} <= tables(db)
        form = call_form("CA1")
        r = client.post("/voice/address", data=form, headers={"X-Twilio-Signature": sign(
            f"{BASE}/voice/address", form)})  # fmt: skip
        assert "texted you our address" in r.text
        assert store._opened  # the connections of the threads that served the call
        # The versions served are kept for a restart, once the store is open.
        version = app.state.services.registry.current("address").version
        assert store.flow_source(version) is not None
    assert store._opened == []  # every thread's connection closed


def test_a_store_used_before_it_was_opened_opens_itself_once(tmp_path: Path) -> None:
    db = tmp_path / "ivr.sqlite3"
    store = open_store(f"sqlite:///{db}")
    assert not db.exists()
    # Many threads use it first at once: the tables are made once, before any of them reads.
    barrier, failures = threading.Barrier(8), []

    def use() -> None:
        barrier.wait()
        try:
            assert store.load("CA-nobody") is None
            assert store.history(None, 1) == []
        except Exception as exc:  # noqa: BLE001 - the assertion below says which
            failures.append(exc)

    threads = [threading.Thread(target=use) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    store.close()
    assert failures == []
    assert "sessions" in tables(db)


@pytest.mark.parametrize("how", ["a port nothing listens on", "a redis-server that stopped"])
def test_an_app_whose_redis_cant_be_reached_refuses_to_start(
    how: str, flows: Path, tmp_path: Path
) -> None:
    if how == "a port nothing listens on":
        port = free_port()
    else:
        proc, url = start_redis(tmp_path)
        stop_redis(proc)
        port = int(url.rsplit(":", 1)[1].split("/")[0])
    url = f"redis://:secret-word@127.0.0.1:{port}/0"
    app = create_app(Settings(flows_dir=str(flows), store=url, auth_token=TOKEN))
    with pytest.raises(StartupRefused) as refused, TestClient(app, base_url=BASE):
        pass
    line = str(refused.value)
    assert line.startswith(f"the store redis://:***@127.0.0.1:{port}/0 can't be used: ")
    assert f"Redis at 127.0.0.1:{port} can't be reached" in line
    assert "secret-word" not in line and "\n" not in line


def test_a_redis_that_refuses_the_password_refuses_the_start(flows: Path, tmp_path: Path) -> None:
    proc, url = start_redis(tmp_path, password="the-right-one")
    try:
        wrong = url.replace("the-right-one", "a-wrong-one")
        app = create_app(Settings(flows_dir=str(flows), store=wrong, auth_token=TOKEN))
        with pytest.raises(StartupRefused) as refused, TestClient(app, base_url=BASE):
            pass
        line = str(refused.value)
        assert "refused the password" in line
        assert "a-wrong-one" not in line and "the-right-one" not in line
        # The right one starts it.
        app = create_app(Settings(flows_dir=str(flows), store=url, auth_token=TOKEN))
        with TestClient(app, base_url=BASE) as client:
            assert client.get("/health").status_code == 200
    finally:
        stop_redis(proc)


def test_serve_refuses_to_start_on_a_redis_that_cant_be_reached(flows: Path) -> None:
    port = free_port()
    done = subprocess.run(
        [sys.executable, "-m", "ivr.cli", "serve", str(flows), "--port", str(free_port()),
         "--store", f"redis://:secret-word@127.0.0.1:{port}/0"],
        capture_output=True, text=True, timeout=60,
        env={**os.environ, "TWILIO_AUTH_TOKEN": TOKEN, "PYTHONPATH": str(ROOT)},
    )  # fmt: skip
    assert done.returncode == 1
    assert done.stderr.startswith(f"error: the store redis://:***@127.0.0.1:{port}/0 can't be used")
    assert len(done.stderr.strip().splitlines()) == 1
    assert "secret-word" not in done.stdout + done.stderr


# `messages` reads as `history` does, and every `switch` as one that turns one.
@pytest.mark.parametrize("command", [["history"], ["switch", "x", "on"]])
def test_commands_that_read_the_store_say_it_cant_be_reached_in_one_line(
    command: list[str], tmp_path: Path
) -> None:
    port = free_port()
    done = subprocess.run(
        [sys.executable, "-m", "ivr.cli", *command, "--store", f"redis://127.0.0.1:{port}/0"],
        capture_output=True, text=True, timeout=60, cwd=tmp_path,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
    )  # fmt: skip
    assert done.returncode == 1
    [line] = done.stderr.splitlines()
    assert line.startswith("error: ") and f"Redis at 127.0.0.1:{port} can't be reached" in line


def test_a_worker_run_by_uvicorn_itself_refuses_in_one_line(flows: Path) -> None:
    # As an embedder runs the app: uvicorn's own command, its lifespan failing.
    port = free_port()
    settings = Settings(
        flows_dir=str(flows), store=f"redis://:secret-word@127.0.0.1:{port}/0", auth_token=TOKEN
    )
    done = subprocess.run(
        [sys.executable, "-m", "uvicorn", "ivr.web.server:app_factory", "--factory",
         "--port", str(free_port())],
        capture_output=True, text=True, timeout=60,
        env={**os.environ, WORKER_VARIABLE: settings.to_json(), "PYTHONPATH": str(ROOT)},
    )  # fmt: skip
    out = done.stdout + done.stderr
    assert done.returncode != 0, out
    assert "Traceback" not in out and "secret-word" not in out
    [line] = [x for x in out.splitlines() if "can't be used" in x]
    assert f"ERROR uvicorn.error: the store redis://:***@127.0.0.1:{port}/0 can't be used: " \
        f"Redis at 127.0.0.1:{port} can't be reached: Error 111 connecting to 127.0.0.1:{port}" \
        in line  # fmt: skip


def sent_items(store: Store, deadline: float = 20.0) -> list[Outgoing]:
    """The outbox once its item was tried (polled, with a deadline)."""
    end = time.monotonic() + deadline
    while time.monotonic() < end:
        items = store.outgoing()
        if items and (items[0].status != "pending" or items[0].detail):
            return items
        time.sleep(0.05)
    raise AssertionError(f"the outbox item was never tried: {store.outgoing()}")


def call(client: TestClient) -> None:
    form = call_form("CA1")
    url = f"{BASE}/voice/address"
    r = client.post(url, data=form, headers={"X-Twilio-Signature": sign(url, form)})
    assert "texted you our address" in r.text


def test_delivery_texts_through_the_client_given_to_the_app(
    flows: Path, tmp_path: Path, standin: rest.Standin
) -> None:
    # The app's settings have no account: only the client given can reach the stand-in.
    settings = Settings(
        flows_dir=str(flows), store=f"sqlite:///{tmp_path}/ivr.sqlite3", auth_token=TOKEN
    )
    given = make_client(
        Settings(account_sid=rest.ACCOUNT_SID, auth_token=rest.AUTH_TOKEN, api_base=standin.base)
    )
    app = create_app(settings, twilio_client=given)
    with TestClient(app, base_url=BASE) as client:
        call(client)
        [item] = sent_items(app.state.services.store)
    assert item.status == "sent", item.detail
    [post] = standin.posts("Messages")
    assert post.user == f"{rest.ACCOUNT_SID}:{rest.AUTH_TOKEN}"
    assert post.field("Body") == "Acme, 12 Main St, Springfield."
    assert (post.field("To"), post.field("From")) == ("+15551230000", "+15559990000")


def test_without_a_client_or_credentials_a_text_waits_with_the_reason(
    flows: Path, tmp_path: Path
) -> None:
    settings = Settings(
        flows_dir=str(flows), store=f"sqlite:///{tmp_path}/ivr.sqlite3", auth_token=TOKEN
    )
    app = create_app(settings)
    with TestClient(app, base_url=BASE) as client:
        call(client)
        [item] = sent_items(app.state.services.store)
    assert (item.status, item.attempts) == ("pending", 1)
    assert item.detail.startswith("TWILIO_ACCOUNT_SID is not set")
