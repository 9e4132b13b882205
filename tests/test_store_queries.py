"""The console's store queries, the same for memory, SQLite and a real Redis server."""

from __future__ import annotations

from ivr.engine.session import Session
from ivr.store import MessageRecord, Store
from ivr.store.queries import Filters


def keep(store: Store, session: Session) -> None:
    def change(before: Session | None) -> tuple[Session | None, None]:
        return session, None

    store.update(session.key, change, 60)


def conv(key: str, started: float, **kw: object) -> Session:
    fields: dict[str, object] = {
        "flow": "menu",
        "version": "v1",
        "channel": "voice",
        "caller": "+15550001",
        "called": "+15559999",
    }
    fields.update(kw)
    return Session(key=key, started=started, **fields)  # type: ignore[arg-type]


def test_conversations_filter_and_newest_first(store: Store) -> None:
    keep(store, conv("CA1", 100.0))
    keep(store, conv("CA2", 200.0, flow="desk"))
    keep(store, conv("SM3", 300.0, channel="sms", caller="+15550002"))
    keep(store, conv("CA4", 400.0, ended=True, outcome="completed"))

    def keys(**kw: object) -> list[str]:
        return [s.key for s in store.conversations(Filters(**kw))]  # type: ignore[arg-type]

    assert keys() == ["CA4", "SM3", "CA2", "CA1"]
    assert keys(flow="menu") == ["CA4", "SM3", "CA1"]
    assert keys(number="+15550002") == ["SM3"]
    assert keys(number="+15559999", flow="desk") == ["CA2"]
    assert keys(channel="sms") == ["SM3"]
    assert keys(since=200.0, until=400.0) == ["SM3", "CA2"]
    assert [s.key for s in store.conversations(Filters(), last=2)] == ["CA4", "SM3"]


def test_one_conversation_by_key(store: Store) -> None:
    keep(store, conv("CA1", 100.0, state="menu"))
    keep(store, conv("CA2", 200.0))
    found = store.conversation("CA1")
    assert found is not None and found.state == "menu"
    assert store.conversation("CA9") is None


def test_messages_marked_handled_and_unmarked(store: Store) -> None:
    for n in range(2):
        store.add_message(MessageRecord("menu", "+1555", "+1999", f"CA{n}", "vm", 10.0 + n))
    first, second = sorted(m.id for m in store.messages())
    store.set_handled(first, "Dana", 50.0)
    marks = store.handled([first, second])
    assert list(marks) == [first] and marks[first].by == "Dana" and marks[first].at == 50.0
    store.set_handled(first, "", 60.0)
    assert store.handled([first, second]) == {}
    assert store.handled([]) == {}


def test_opt_outs_listed_until_opted_back_in(store: Store) -> None:
    store.set_opt_out("+15550001", "+15559999", True)
    store.set_opt_out("+15550002", "+15559999", True)
    store.set_opt_out("+15550002", "+15559999", False)
    listed = store.opt_outs()
    assert [(o.number, o.ours) for o in listed] == [("+15550001", "+15559999")]
    assert listed[0].at > 0
    store.set_opt_out("+15550001", "+15559999", False)
    assert store.opt_outs() == []
    assert not store.opted_out("+15550001")


def test_one_message_by_id(store: Store) -> None:
    store.add_message(MessageRecord("menu", "+1555", "+1999", "CA1", "vm", 10.0, url="u1"))
    store.add_message(MessageRecord("menu", "+1555", "+1999", "CA2", "vm", 11.0, media=("m",)))
    ids = sorted(m.id for m in store.messages())
    first, second = (store.message(i) for i in ids)
    assert first is not None and first.url == "u1" and first.conversation == "CA1"
    assert second is not None and second.media == ("m",) and second.id == ids[1]
    assert store.message(ids[1] + 100) is None


def test_conversations_of_one_lookup(store: Store) -> None:
    pair = "sms:+15559999:+15550001"

    def text(key: str, started: float) -> None:
        session = conv(key, started, channel="sms")
        lookup = key.rpartition(":")[0] if key.startswith("sms:") else key
        store.update(lookup, lambda _: (session, None), 60)

    text(f"{pair}:100.000000", 100.0)
    text("sms:+15559999:+15550002:150.000000", 150.0)  # another texter of the same number
    text("CA1", 170.0)
    text(f"{pair}:200.000000", 200.0)
    found = store.conversations(Filters(lookup=pair))
    assert [s.key for s in found] == [f"{pair}:200.000000", f"{pair}:100.000000"]
    assert [s.key for s in store.conversations(Filters(lookup="CA1"))] == ["CA1"]
    assert store.conversations(Filters(lookup=pair, since=300.0)) == []
