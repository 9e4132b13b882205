"""The console's doors, in-process: off without a password, logins, cookies, forged posts."""

from __future__ import annotations

import logging
import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from starlette.testclient import TestClient

from ivr.console.app import mount_console
from ivr.console.auth import FAILURES_ALLOWED
from ivr.settings import Settings
from ivr.web.app import create_app

PASSWORD = "s3cret-enough"


def client(
    flows_dir: Path, tmp_path: Path, base: str = "http://testserver", **settings: object
) -> TestClient:
    found = Settings(
        flows_dir=str(flows_dir),
        store=f"sqlite:///{tmp_path}/ivr.sqlite3",
        auth_token="t",
        **settings,  # type: ignore[arg-type]
    )
    return TestClient(mount_console(create_app(found), found), base_url=base)


@pytest.fixture
def console(flows_dir: Path, tmp_path: Path) -> Iterator[TestClient]:
    with client(flows_dir, tmp_path, console_password=PASSWORD) as c:
        yield c


def log_in(c: TestClient, password: str = PASSWORD, prefix: str = "") -> tuple[int, str]:
    form = c.get("/console/login")
    token = re.search(r'name="csrf" value="([^"]+)"', form.text)
    assert token, form.text
    r = c.post(
        "/console/login",
        data={"csrf": token.group(1), "password": password, "next": "/messages"},
        follow_redirects=False,
    )
    return r.status_code, r.headers.get("location", "")


def page_token(c: TestClient, path: str) -> str:
    found = re.search(r'name="csrf" value="([^"]+)"', c.get(path).text)
    assert found
    return found.group(1)


def test_without_a_password_there_is_no_console(flows_dir: Path, tmp_path: Path) -> None:
    with client(flows_dir, tmp_path) as c:
        for path in ("/console", "/console/login", "/console/flows", "/console/static/console.css"):
            assert c.get(path, follow_redirects=False).status_code == 404
        assert c.post("/console/login", data={"password": ""}).status_code == 404


def test_every_page_sends_to_the_login_first(console: TestClient) -> None:
    for path in ("/console/flows", "/console/conversations?flow=menu", "/console/messages"):
        r = console.get(path, follow_redirects=False)
        assert r.status_code == 303
        assert r.headers["location"].startswith("/console/login?next=/")
    r = console.post("/console/opt-outs/opt-in", data={"number": "+1"}, follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"] == "/console/login"


def test_a_wrong_password_is_refused_and_logged(
    console: TestClient, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.WARNING, logger="ivr.console"):
        status, _ = log_in(console, "guess")
    assert status == 401
    assert "console: a wrong password from testclient" in caplog.text
    assert console.get("/console/flows", follow_redirects=False).status_code == 303


def test_logging_in_sets_a_guarded_cookie_and_goes_on(console: TestClient) -> None:
    status, location = log_in(console)
    assert (status, location) == (303, "/console/messages")
    assert console.get("/console/messages").status_code == 200


def test_logins_are_rate_limited(console: TestClient) -> None:
    for _ in range(FAILURES_ALLOWED):
        assert log_in(console, "guess")[0] == 401
    status, _ = log_in(console)  # even the right password waits now
    assert status == 429


def test_a_login_without_its_form_token_is_refused(console: TestClient) -> None:
    r = console.post("/console/login", data={"password": PASSWORD}, follow_redirects=False)
    assert r.status_code == 403
    assert "ivr_console=" not in r.headers.get("set-cookie", "")


def test_a_forged_post_changes_nothing(console: TestClient) -> None:
    store = console.app.state.services.store  # type: ignore[attr-defined]
    store.set_opt_out("+15550001", "+15559999", True)
    log_in(console)
    form = {"number": "+15550001", "ours": "+15559999"}
    assert console.post("/console/opt-outs/opt-in", data=form).status_code == 403
    assert console.post("/console/opt-outs/opt-in", data=form | {"csrf": "x"}).status_code == 403
    assert store.opted_out("+15550001", "+15559999")
    token = page_token(console, "/console/opt-outs")
    assert console.post("/console/opt-outs/opt-in", data=form | {"csrf": token}).status_code == 200
    assert not store.opted_out("+15550001", "+15559999")


def test_behind_an_https_public_url_with_a_path(flows_dir: Path, tmp_path: Path) -> None:
    public = "https://example.org/ivr"
    # The proxy speaks https to the browser; the cookie is Secure, so the client must too.
    with client(
        flows_dir, tmp_path, "https://testserver", console_password=PASSWORD, public_url=public
    ) as c:
        r = c.get("/console/flows", follow_redirects=False)
        assert r.headers["location"] == "/ivr/console/login?next=/flows"
        form = c.get("/console/login")
        assert 'action="/ivr/console/login"' in form.text
        token = re.search(r'name="csrf" value="([^"]+)"', form.text)
        assert token
        # The browser sends the cookie to /ivr/console/login; the proxy strips /ivr.
        login_cookie = form.cookies["ivr_console_login"]
        r = c.post(
            "/console/login",
            data={"csrf": token.group(1), "password": PASSWORD, "next": "/flows"},
            headers={"cookie": f"ivr_console_login={login_cookie}"},
            follow_redirects=False,
        )
        assert r.headers["location"] == "/ivr/console/flows"
        cookie = next(v for v in r.headers.get_list("set-cookie") if v.startswith("ivr_console="))
        assert {"Secure", "HttpOnly", "Path=/ivr/console", "SameSite=lax"} <= {
            part.strip() for part in cookie.split(";")
        }


def test_after_login_only_console_paths(console: TestClient) -> None:
    form = console.get("/console/login")
    token = re.search(r'name="csrf" value="([^"]+)"', form.text)
    assert token
    r = console.post(
        "/console/login",
        data={"csrf": token.group(1), "password": PASSWORD, "next": "//evil.example/"},
        follow_redirects=False,
    )
    assert r.headers["location"] == "/console/flows"


def test_a_switch_until_a_time_already_gone_is_refused(console: TestClient) -> None:
    log_in(console)
    token = page_token(console, "/console/switches")
    form = {"csrf": token, "name": "closed_today", "on": "yes", "until": "2001-01-01T08:00"}
    r = console.post("/console/switches", data=form)
    assert r.status_code == 400 and "has already passed" in r.text
    r = console.post("/console/switches", data=form | {"name": "1bad", "until": ""})
    assert r.status_code == 400 and "is not a switch name" in r.text
    assert console.app.state.services.store.switches() == {}  # type: ignore[attr-defined]


def test_mounted_under_a_path_the_links_follow(flows_dir: Path, tmp_path: Path) -> None:
    from starlette.applications import Starlette
    from starlette.routing import Mount

    settings = Settings(
        flows_dir=str(flows_dir),
        store=f"sqlite:///{tmp_path}/ivr.sqlite3",
        auth_token="t",
        console_password=PASSWORD,
    )
    outer = Starlette(routes=[Mount("/ivr", app=mount_console(create_app(settings), settings))])
    with TestClient(outer) as c:
        r = c.get("/ivr/console/flows", follow_redirects=False)
        assert r.headers["location"] == "/ivr/console/login?next=/flows"
        assert 'action="/ivr/console/login"' in c.get("/ivr/console/login").text
