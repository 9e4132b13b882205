"""The console in a real browser: Chromium, driven by Playwright, against `ivr serve` started as a
process with a real SQLite store. With IVR_SCREENSHOTS set, each page is also saved as a picture
(see console_support)."""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from conftest import Server, Twilio, http_client, launch, ready, sms_form, stop
from console_support import (
    CHROMIUM_ARGS,
    PASSWORD,
    SCREENSHOTS,
    call_hang_up,
    call_hours,
    call_voicemail,
    chromium,
    recordings,
    write_desk,
)
from playwright.sync_api import Browser, Page, StorageState, expect, sync_playwright

from ivr.store import open_store

POLL_MS = 4000  # how often the list of conversations looks for new ones (poll.js)


def sid() -> str:
    return "CA" + os.urandom(16).hex()


@pytest.fixture(scope="module")
def booting(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """`ivr serve` started but not yet answering, so that it boots while Chromium starts."""
    folder = tmp_path_factory.mktemp("console")
    flows = write_desk(folder / "flows")
    store = f"sqlite:///{folder}/ivr.sqlite3"
    server = launch(flows, store, folder / "server.log", env={"IVR_CONSOLE_PASSWORD": PASSWORD})
    yield server
    stop(server)


@pytest.fixture(scope="module")
def browser(booting: Server) -> Iterator[Browser]:
    # After `booting`, so that the server boots while Chromium starts. A missing browser is a
    # failure, never a skip: the console would go untested.
    executable = chromium()
    assert Path(executable).exists(), f"Chromium is needed at {executable}"
    with sync_playwright() as p:
        found = p.chromium.launch(executable_path=executable, args=CHROMIUM_ARGS)
        yield found
        found.close()


@pytest.fixture(scope="module")
def media() -> Iterator[str]:
    with recordings() as url:
        yield url


@pytest.fixture(scope="module")
def console(booting: Server, media: str) -> Server:
    """The server once it answers, with three calls and an opt-out behind it."""
    server = ready(booting)
    with http_client() as client:
        twilio = Twilio(client, server.url, open_store(server.store))
        call_hours(twilio, sid())
        call_hang_up(twilio, sid())
        call_voicemail(twilio, sid(), media, "Please call me back about the leak.")
        twilio.post("/sms/desk", sms_form("STOP", frm="+15550007777"))
    return server


@pytest.fixture(scope="module")
def signed_in(browser: Browser, console: Server) -> StorageState:
    """The cookies of one log-in through the form, so that each test starts signed in."""
    with opened(browser, console) as page:
        log_in(page)
        expect(page).to_have_url(re.compile(r"/console/flows$"))
        return page.context.storage_state()


@contextmanager
def opened(browser: Browser, console: Server, state: StorageState | None = None) -> Iterator[Page]:
    """A page in a context of its own, whose scripts must run without an error."""
    context = browser.new_context(
        base_url=console.url, viewport={"width": 1100, "height": 900}, storage_state=state
    )
    found = context.new_page()
    errors: list[str] = []
    found.on("pageerror", lambda error: errors.append(str(error)))
    try:
        yield found
    finally:
        context.close()
    assert errors == [], "the page's scripts failed"  # the picture's, the polling's, the voice's


@pytest.fixture
def page(browser: Browser, console: Server, signed_in: StorageState) -> Iterator[Page]:
    with opened(browser, console, signed_in) as found:
        yield found


def shot(page: Page, name: str) -> None:
    if SCREENSHOTS is None:
        return
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / f"{name}.png"), full_page=True)


def log_in(page: Page, password: str = PASSWORD) -> None:
    page.goto("/console/flows")
    expect(page).to_have_url(re.compile(r"/console/login\?next=/flows$"))
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Log in").click()


def test_log_in_after_a_refusal(browser: Browser, console: Server) -> None:
    with opened(browser, console) as page:
        log_in(page, "not the password")
        expect(page.get_by_role("alert")).to_have_text("That is not the password.")
        shot(page, "login")
        assert "console: a wrong password from 127.0.0.1" in console.log.read_text()
        page.get_by_label("Password").fill(PASSWORD)
        page.get_by_role("button", name="Log in").click()
        expect(page).to_have_url(re.compile(r"/console/flows$"))
        expect(page.get_by_role("link", name="desk", exact=True)).to_be_visible()
        shot(page, "flows")


def test_a_flows_picture_and_its_counts(page: Page) -> None:
    page.goto("/console/flows")
    page.get_by_role("link", name="desk", exact=True).click()
    expect(page.locator("#picture[data-drawn=yes] svg")).to_be_visible()
    picture = page.locator("#picture svg")
    expect(picture).to_contain_text("menu")
    expect(picture).to_contain_text("3 in · 1 hung up")  # the three calls came in at the menu
    expect(page.locator("#traffic td[data-state=menu]")).to_have_text("3")
    expect(page.locator("#traffic td[data-state=voicemail]")).to_have_text("1")
    expect(page.get_by_text("The check finds no problems")).to_be_visible()
    shot(page, "flow")


def test_conversations_appear_and_open(page: Page, console: Server, media: str) -> None:
    # The page's own timers, so that its next poll comes when the test says, not seconds later.
    page.clock.install()
    page.goto("/console/conversations")
    rows = page.locator("#rows tr[data-key]")
    expect(rows).to_have_count(3)
    with http_client() as client:  # a new call while the page is open
        call_hours(Twilio(client, console.url, open_store(console.store)), sid())
    page.clock.run_for(POLL_MS)
    expect(rows).to_have_count(4, timeout=15_000)
    expect(page.locator("#fresh")).to_have_text("1 new conversation just now.")
    shot(page, "conversations")
    page.get_by_label("Ending").select_option("hung up")
    page.get_by_role("button", name="Filter").click()
    expect(rows).to_have_count(1)
    rows.first.get_by_role("link").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Call from +15551230000")
    steps = page.locator("#steps tbody tr")
    expect(steps).to_have_count(2)
    expect(steps.nth(0)).to_contain_text("menu")
    expect(steps.nth(1)).to_contain_text("ended")
    shot(page, "conversation")


def test_a_voicemail_plays_and_is_marked_handled(page: Page, console: Server) -> None:
    page.goto("/console/messages")
    expect(page.get_by_text("Please call me back about the leak.")).to_be_visible()
    audio = page.locator("audio").first
    audio.evaluate("a => a.play()")
    page.wait_for_function(
        "() => { const a = document.querySelector('audio'); return a.currentTime > 0 }"
    )
    shot(page, "messages")
    page.get_by_label("Your name").fill("Dana")
    page.get_by_role("button", name="Mark handled").click()
    expect(page.get_by_text("No messages waiting.")).to_be_visible()
    page.get_by_label("Show").select_option("all")
    page.get_by_role("button", name="Show").click()
    expect(page.get_by_text(re.compile("Handled by Dana at"))).to_be_visible()
    kept = open_store(console.store)
    assert [mark.by for mark in kept.handled([m.id for m in kept.messages()]).values()] == ["Dana"]


def test_a_forged_post_changes_nothing_and_opting_in_works(page: Page, console: Server) -> None:
    page.goto("/console/opt-outs")
    expect(page.get_by_role("cell", name="+15550007777", exact=True)).to_be_visible()
    # The browser's own cookie, but no form token: what a forging page could send.
    forged = page.request.post(
        "/console/opt-outs/opt-in", form={"number": "+15550007777", "ours": "+15559990000"}
    )
    assert forged.status == 403
    assert open_store(console.store).opted_out("+15550007777")
    shot(page, "opt-outs")
    page.get_by_role("button", name="Opt +15550007777 back in").click()
    expect(page.get_by_text("No number has opted out.")).to_be_visible()
    assert not open_store(console.store).opted_out("+15550007777")


def test_try_a_call_on_the_keypad(page: Page, console: Server) -> None:
    # What the page hands the browser's speech synthesis, kept to be looked at.
    page.add_init_script(
        "window.spoken = [];speechSynthesis.speak = u => window.spoken.push([u.text, u.lang]);"
    )
    page.goto("/console/try/desk")
    page.get_by_role("button", name="Call", exact=True).click()
    expect(page.locator("#state")).to_have_text("menu")
    spoken = page.evaluate("window.spoken")
    assert spoken == [["For our hours press 1. To leave a message press 2.", "en-US"]]
    expect(page.locator(".turn.line.latest")).to_have_text(re.compile("For our hours press 1"))
    page.get_by_role("button", name="Press 2").click()
    expect(page.locator("#state")).to_have_text("voicemail")
    expect(page.get_by_role("status")).to_contain_text("waiting for a recording")
    shot(page, "try-call")
    page.get_by_label("Message").fill("Hello there")
    page.get_by_role("button", name="Leave the message").click()
    expect(page.get_by_role("status")).to_contain_text("the conversation has ended")
    page.get_by_role("button", name="Text again").click()
    page.get_by_label("Text", exact=True).fill("2")
    page.get_by_role("button", name="Send").click()
    expect(page.locator(".turn.line.latest")).to_have_text(re.compile("after the tone"))
    shot(page, "try-text")
    # A try happens in a sandbox: the office's history has only the real calls.
    assert all(s.caller != "+15005550006" for s in open_store(console.store).history(last=100))


def test_a_phone_sized_screen(page: Page) -> None:
    page.set_viewport_size({"width": 390, "height": 844})
    for name, path in (
        ("conversations", "/console/conversations"),
        ("flow", "/console/flows/desk"),
        ("messages", "/console/messages?show=all"),
        ("switches", "/console/switches"),
    ):
        page.goto(path)
        if name == "flow":
            expect(page.locator("#picture[data-drawn=yes] svg")).to_be_visible()
        width = page.evaluate("document.documentElement.scrollWidth")
        assert width <= 390, f"{path} is {width}px wide on a 390px screen"
        shot(page, f"phone-{name}")
    page.goto("/console/try/desk")
    page.get_by_role("button", name="Call", exact=True).click()
    expect(page.locator("#state")).to_have_text("menu")
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
    shot(page, "phone-try")


def test_flip_a_switch(page: Page, console: Server) -> None:
    page.goto("/console/flows")
    page.get_by_role("link", name="Switches").click()
    expect(page.get_by_text("No switch has been turned yet")).to_be_visible()
    page.get_by_label("Switch", exact=True).fill("closed_today")
    page.get_by_label("Your name").fill("Dana")
    page.get_by_role("button", name="Turn it").click()
    expect(page.locator("[data-switch=closed_today]")).to_have_text("on")
    assert open_store(console.store).switches()["closed_today"].on
    shot(page, "switches")
    page.get_by_role("button", name="Turn closed_today off").click()
    expect(page.locator("[data-switch=closed_today]")).to_have_text("off")
    assert not open_store(console.store).switches()["closed_today"].on
    page.get_by_role("link", name="closed_today").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Switch closed_today: off")
    expect(page.locator("tbody tr")).to_have_count(2)
    expect(page.locator("tbody tr").nth(1)).to_contain_text("console (Dana)")
    shot(page, "switch")
