"""A write whose reply is lost on the way back: the store finds it landed and doesn't redo it.

A relay on 127.0.0.1 stands between the store and a real redis-server. Armed, it lets the next
script through to Redis, and when Redis answers, it drops the connection instead of passing
the answer on: the write has happened, and the store can't know it from that connection.
"""

from __future__ import annotations

import contextlib
import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import redis
from redis_server import start_redis, stop_redis

from ivr.engine.session import Session
from ivr.store import open_store


class Relay:
    def __init__(self, redis_port: int) -> None:
        self.redis_port = redis_port
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port = self.listener.getsockname()[1]
        self.armed = threading.Event()
        self.dropped = threading.Event()
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while True:
            try:
                near, _ = self.listener.accept()
            except OSError:  # closed: the test is over
                return
            far = socket.create_connection(("127.0.0.1", self.redis_port))
            scripted = threading.Event()  # a script went through this connection, armed
            for pair in ((near, far, True), (far, near, False)):
                threading.Thread(target=self._pump, args=(*pair, scripted), daemon=True).start()

    def _pump(
        self, src: socket.socket, dst: socket.socket, up: bool, scripted: threading.Event
    ) -> None:
        try:
            while data := src.recv(65536):
                if up and self.armed.is_set() and b"EVALSHA" in data:
                    scripted.set()
                elif not up and scripted.is_set():  # Redis answered the script: lose it
                    self.armed.clear()
                    self.dropped.set()
                    break
                dst.sendall(data)
        except OSError:
            pass
        for sock in (src, dst):
            # Shut down first: a close alone would leave the connection open while the other
            # pump still waits in recv on it, and the store would wait out its timeout.
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)
            sock.close()

    def close(self) -> None:
        self.listener.close()


@pytest.fixture
def redis_port(tmp_path: Path) -> Iterator[int]:
    proc, url = start_redis(tmp_path)
    yield int(url.rsplit(":", 1)[1].split("/")[0])
    stop_redis(proc)


def test_a_write_whose_reply_is_lost_is_found_landed_and_not_made_again(redis_port: int) -> None:
    relay = Relay(redis_port)
    store = open_store(f"redis://127.0.0.1:{relay.port}/0")
    client = redis.Redis(port=redis_port, decode_responses=True)
    computed: list[int] = []

    def begin(before: Session | None) -> tuple[Session, str]:
        computed.append(1)
        new = Session(key="CA1", flow="f", version="v1", channel="voice", started=time.time())
        return new, "begun"

    try:
        store.update("CA0", begin, 60)  # Redis has the script from then on
        computed.clear()
        relay.armed.set()
        assert store.update("CA1", begin, 60) == "begun"
        assert relay.dropped.is_set()
        assert computed == [1]  # found written: not computed and written a second time
        loaded = store.load("CA1")
        assert loaded is not None and loaded.key == "CA1"
        assert client.zcard("ivr:history") == 2 and client.zcard("ivr:history:f") == 2
    finally:
        store.close()
        client.close()
        relay.close()
