"""Two `ivr serve` processes sharing one real Redis server: one call, one texter, two hosts."""

from __future__ import annotations

import os
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor

import pytest
from conftest import (
    Server,
    Twilio,
    call_form,
    copy_flows,
    http_client,
    launch,
    ready,
    sms_form,
    stop,
)
from redis_server import start_redis

from ivr.store import open_store


@pytest.fixture(scope="module")
def pair(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Server, Server, str]]:
    """Two hosts on one Redis, for the module: its tests use calls and numbers of their own."""
    folder = tmp_path_factory.mktemp("hosts")
    flows = copy_flows(folder)
    proc, url = start_redis(folder)
    # Both start at once; then each is waited for.
    hosts = [launch(flows, url, folder / f"host{i}.log", "--workers", str(i + 1)) for i in range(2)]
    servers = [ready(host) for host in hosts]
    yield servers[0], servers[1], url
    for s in servers:
        stop(s)
    proc.terminate()
    proc.wait(10)


def test_a_call_moves_between_hosts(pair: tuple[Server, Server, str]) -> None:
    a, b, url = pair
    sid = "CA" + os.urandom(16).hex()
    store = open_store(url)
    with http_client() as client:
        host_a, host_b = Twilio(client, a.url, store), Twilio(client, b.url, store)
        reply = host_a.post("/voice/menu", call_form(sid))
        # Twilio's next request lands on the other host: the session is there too.
        gather = reply.find("Gather")
        assert gather is not None
        reply = host_b.post(gather.get("action") or "", call_form(sid, Digits="1"))
        assert "Sales here" in reply.said()
        gather = reply.find("Gather")
        assert gather is not None
        reply = host_a.post(gather.get("action") or "", call_form(sid, Digits="11111"))
        assert "1 1 1 1 1" in reply.said()
    store.close()


def test_texts_at_once_on_two_hosts_are_each_applied_once(
    pair: tuple[Server, Server, str],
) -> None:
    a, b, url = pair
    frm = "+15552220000"
    store = open_store(url)
    with http_client() as client:
        hosts = [Twilio(client, host.url, store) for host in (a, b)]
        hosts[0].post("/sms/texting", sms_form("hi", frm))
        with ThreadPoolExecutor(8) as pool:
            replies = list(
                pool.map(
                    lambda i: hosts[i % 2].post("/sms/texting", sms_form("hours", frm)), range(16)
                )
            )
    assert all(r.status == 200 and "We are open 9 to 5." in r.messages() for r in replies)
    session = store.load("sms:+15559990000:" + frm)
    store.close()
    assert session is not None
    assert sum(s.event == "answer" for s in session.path) == 16
    assert session.seq == 17
