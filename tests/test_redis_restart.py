"""Redis restarts in the middle of calls and texts, under a real `ivr serve`.

While Redis is away, a webhook gets the channel's apology (after one more try), never a 500,
and the failure is logged with the flow, state and conversation. Redis keeps its data across
the restart (append-only file), so once it is back the same call and the same texter go on
from where they were.
"""

from __future__ import annotations

import os
from pathlib import Path

from conftest import Twilio, call_form, free_port, http_client, sms_form, start_server
from redis_server import start_redis, stop_redis

from ivr.store import open_store

AOF = ("--appendonly", "yes", "--appendfsync", "always")


def test_a_call_and_a_texter_go_on_after_redis_restarts(flows_dir: Path, tmp_path: Path) -> None:
    port = free_port()
    proc, url = start_redis(tmp_path, *AOF, port=port)
    server = start_server(flows_dir, url, tmp_path / "server.log")
    store = open_store(url)
    sid, texter = "CA" + os.urandom(16).hex(), "+15552220000"
    try:
        with http_client() as client:
            twilio = Twilio(client, server.url, store)
            reply = twilio.post("/voice/menu", call_form(sid))
            gather = reply.find("Gather")
            assert gather is not None
            action = gather.get("action") or ""
            assert (
                "Hi from the texting line."
                in twilio.post("/sms/texting", sms_form("hi", texter)).messages()[0]
            )

            stop_redis(proc)
            down = twilio.post(action, call_form(sid, Digits="1"))
            assert down.status == 200 and "Sorry" in down.said() and down.find("Hangup") is not None
            text = twilio.post("/sms/texting", sms_form("hours", texter))
            assert text.status == 200 and "Sorry" in text.messages()[0]
            log = server.log.read_text()
            assert f"voice webhook failed (flow menu, state ?, conversation {sid})" in log
            conversation = f"sms:+15559990000:{texter}"
            assert f"sms webhook failed (flow texting, state ?, conversation {conversation})" in log
            assert "can't be reached" in log

            proc, _ = start_redis(tmp_path, *AOF, port=port)
            # The same call (Twilio asking again) and the same texter go on where they were.
            assert "Sales here" in twilio.post(action, call_form(sid, Digits="1")).said()
            assert twilio.post("/sms/texting", sms_form("hours", texter)).messages() == [
                "We are open 9 to 5.",
                "Reply HOURS, BOOK, NOTE or CALL.",
            ]
    finally:
        store.close()
        server.proc.terminate()
        server.proc.wait(10)
        stop_redis(proc)
