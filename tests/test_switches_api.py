"""`GET /api/switches` and `PUT /api/switches/{name}`, on the real app in-process."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from pathlib import Path

import pytest
from conftest import TOKEN
from starlette.testclient import TestClient

from ivr.settings import Settings
from ivr.web.app import create_app

API = "api-token-0123456789"
AUTH = {"Authorization": f"Bearer {API}"}


@pytest.fixture
def client(flows_dir: Path, tmp_path: Path) -> Iterator[TestClient]:
    for extra in flows_dir.glob("*.yaml"):
        if extra.stem != "front_desk":  # one flow, so one time zone: America/New_York
            extra.unlink()
    settings = Settings(
        flows_dir=str(flows_dir),
        store=f"sqlite:///{tmp_path}/ivr.sqlite3",
        auth_token=TOKEN,
        api_token=API,
    )
    with TestClient(create_app(settings), base_url="http://testserver") as c:
        yield c


def test_a_switch_turned_over_the_api_is_listed_with_who_and_until(client: TestClient) -> None:
    assert client.get("/api/switches", headers=AUTH).json() == {"switches": []}
    r = client.put(
        "/api/switches/closed_today", json={"on": True, "until": "2099-12-24 08:00"}, headers=AUTH
    )
    assert r.status_code == 200, r.text
    [found] = client.get("/api/switches", headers=AUTH).json()["switches"]
    assert (found["name"], found["on"], found["by"]) == ("closed_today", True, "api")
    until = dt.datetime.fromisoformat(found["until"])
    assert until == dt.datetime(2099, 12, 24, 13, 0, tzinfo=dt.UTC)  # 08:00 in New York
    client.put("/api/switches/closed_today", json={"on": False}, headers=AUTH)
    [found] = client.get("/api/switches", headers=AUTH).json()["switches"]
    assert (found["on"], found["until"]) == (False, None)
    store = client.app.state.services.store  # type: ignore[attr-defined]
    assert [c.on for c in store.switch_history("closed_today")] == [False, True]


def test_the_api_wants_the_token(client: TestClient) -> None:
    assert client.get("/api/switches").status_code == 401
    wrong = {"Authorization": "Bearer nope"}
    r = client.put("/api/switches/closed_today", json={"on": True}, headers=wrong)
    assert r.status_code == 401
    assert client.app.state.services.store.switches() == {}  # type: ignore[attr-defined]


@pytest.mark.parametrize(
    ("name", "body", "words"),
    [
        ("closed_today", b"{not json", "Expecting"),
        ("closed_today", b'{"on": "yes"}', '{"on": true}'),
        ("closed_today", b'{"on": true, "until": "soon"}', "is not a time"),
        ("closed_today", b'{"on": true, "until": "2001-01-01 08:00"}', "already passed"),
        ("closed_today", b'{"on": true, "until": "2099-01-01 08:00", "tz": "Mars/Base"}', "zone"),
        ("no.dots", b'{"on": true}', "not a switch name"),
    ],
)
def test_a_bad_request_is_refused_in_words(
    client: TestClient, name: str, body: bytes, words: str
) -> None:
    r = client.put(f"/api/switches/{name}", content=body, headers=AUTH)
    assert r.status_code == 400
    assert words in r.json()["error"]
    assert client.app.state.services.store.switches() == {}  # type: ignore[attr-defined]


def test_without_a_token_set_the_api_is_off(tmp_path: Path, flows_dir: Path) -> None:
    settings = Settings(flows_dir=str(flows_dir), store="memory://", auth_token=TOKEN)
    with TestClient(create_app(settings)) as c:
        assert c.get("/api/switches", headers=AUTH).status_code == 404
