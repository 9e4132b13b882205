"""Starting one conversation: a call placed through Twilio, or a text conversation begun.

Shared by the command line and the HTTP API. A call's variables are saved in the store before
Twilio is asked to call: as a preset, under a random token, that the call's URL and its status
callback's carry (`/voice/FLOW?call=TOKEN`, signed by Twilio with the rest of the URL, so the
token can't be forged or changed; the variables themselves never travel in a URL). When the call
is answered, the voice webhook starts the flow from the preset; when it ends unanswered, the
status callback records it, variables and all. If the preset can't be saved, Twilio is never
asked; if Twilio refuses the call, the preset is forgotten and nothing shows in the history.

A text conversation is run to its first wait here and its first texts are sent through the REST
API; the reply continues it through `/sms/FLOW`.
"""

from __future__ import annotations

import contextlib
import logging
import re
import secrets
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING
from urllib.parse import quote

from ivr.engine import actions as act
from ivr.engine import machine as engine
from ivr.engine.actions import split_sms
from ivr.engine.clock import utc_now as now
from ivr.engine.session import Session, conversation_key, new_call, new_conversation
from ivr.flow.model import Flow
from ivr.flow.names import E164, RESERVED
from ivr.outbound.rest import Refused, create_call, send_message
from ivr.settings import Settings
from ivr.store.base import Store
from ivr.store.effects import effects_of

if TYPE_CHECKING:
    from twilio.rest import Client  # made only with credentials (outbound.rest)

log = logging.getLogger("ivr.outbound.commands")

NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
PRESET = "call"  # the query parameter of a placed call's URLs that names its preset


def check_number(number: str, role: str) -> str:
    number = number.strip()
    if not E164.fullmatch(number):
        raise Refused(
            f"{role} number {number!r} is not in E.164 form: write it as + then "
            "the country code and number, digits only (e.g. +15551234567)",
            "invalid_number",
        )
    return number


def check_variables(variables: Mapping[str, str]) -> dict[str, str]:
    for name in variables:
        if not NAME.fullmatch(name):
            raise Refused(
                f"variable name {name!r} is not valid: use letters, digits and _, "
                "not starting with a digit",
                "bad_variable",
            )
        if name in RESERVED:
            raise Refused(
                f"variable {name!r} is set by the engine for every conversation; pick another name",
                "bad_variable",
            )
    return {name: str(value) for name, value in variables.items()}


def parse_variables(items: Sequence[str]) -> dict[str, str]:
    """`NAME=VALUE` items, as given to `--var`."""
    found: dict[str, str] = {}
    for item in items:
        name, sep, value = item.partition("=")
        if not sep:
            raise Refused(f"--var {item!r}: write it as NAME=VALUE", "bad_variable")
        found[name.strip()] = value
    return check_variables(found)


def call_urls(base: str, flow: str, token: str) -> tuple[str, str]:
    """The URL Twilio asks when a call we place is answered, and its status callback's."""
    url = f"{base}/voice/{quote(flow)}"
    return f"{url}?{PRESET}={token}", f"{url}/status?{PRESET}={token}"


def save_preset(
    store: Store, flow: Flow, to: str, from_: str, variables: Mapping[str, str], ttl: float
) -> str:
    """Save what a call to `to` starts with, before Twilio is asked for it; its token.

    Refused (500) when the store can't take it: then no call must be placed.
    """
    token = secrets.token_urlsafe(18)
    preset = new_call(flow, token, to, from_, variables, started=time.time())
    try:
        # The server may not have seen this version of the flow yet: let it find it.
        store.keep_flow(flow.name, flow.version, flow.source)
        store.keep_preset(token, preset, ttl)
    except Exception as exc:
        raise Refused(
            f"the call to {to} was not placed: its variables could not be saved ({exc})",
            "store_error",
            500,
        ) from exc
    return token


@dataclass
class Sender:
    settings: Settings
    store: Store
    client: Client

    def call(
        self,
        flow: Flow,
        to: str,
        from_: str,
        variables: Mapping[str, str],
        *,
        detect_machine: bool = False,
    ) -> str:
        """Place a call that runs `flow` when answered; the new CallSid.

        With `detect_machine`, the flow starts once a machine's greeting has ended, and has
        Twilio's answer in the variable `answered_by`.
        """
        to, from_ = check_number(to, "the 'to'"), check_number(from_, "the 'from'")
        variables = check_variables(variables)
        public = self.settings.public_url
        if not public:
            raise Refused(
                "IVR_PUBLIC_URL is not set: Twilio needs the public https address of "
                "this server to fetch the flow when the call is answered",
                "no_public_url",
                502,
            )
        # As long as a call's session would live: a call may wait in Twilio's queue (a CSV run
        # goes at the account's calls per second) and ring long before it is answered.
        ttl = self.settings.voice_session_ttl
        token = save_preset(self.store, flow, to, from_, variables, ttl)
        url, status = call_urls(public, flow.name, token)
        try:
            return create_call(self.client, to, from_, url, status, detect_machine=detect_machine)
        except Refused as refused:
            # No call, so no conversation: the preset is forgotten, unless Twilio may have
            # placed the call after all (it did not answer in time).
            if refused.code != "twilio_timeout":
                with contextlib.suppress(Exception):
                    self.store.drop_preset(token)
            raise

    def text(self, flow: Flow, to: str, from_: str, variables: Mapping[str, str]) -> str:
        """Start a text conversation: send what `flow` says up to its first wait."""
        to, from_ = check_number(to, "the 'to'"), check_number(from_, "the 'from'")
        variables = check_variables(variables)
        if self.store.opted_out(to):
            raise Refused(
                f"{to} texted STOP and has opted out of texts: not texting it (it can "
                "text START to opt back in)",
                "opted_out",
                422,
            )
        self.store.keep_flow(flow.name, flow.version, flow.source)
        at = now()
        lookup = conversation_key(from_, to)
        chosen = self.store.language_of(flow.name, to) if flow.remember_language else ""
        if chosen in flow.voices:  # the language they chose last time, unless told another
            variables = {"language": chosen, **variables}
        fresh = new_conversation(flow, from_, to, at, variables)
        session, outputs = engine.step(flow, fresh, engine.Event("start"), at)
        for out in outputs:
            if isinstance(out, engine.Log):
                log.warning("%s (flow %s, conversation %s)", out.message, flow.name, lookup)
        texts = [part for o in outputs if isinstance(o, act.Message) for part in split_sms(o.text)]
        if not texts:
            raise Refused(
                f"flow {flow.name!r} says nothing before it waits for an answer, so "
                f"there is no text to send to {to}",
                "nothing_to_send",
                422,
            )
        ttl = flow.sms_session_timeout
        # A conversation under way with this number is replaced: the new one is what they see.
        self.store.update(
            lookup, lambda b: (engine.close(b, "replaced", at) if b else None, 0), ttl
        )
        # What the first step decided beside its texts (a text to the office, a switch turned)
        # is written with the session, as a webhook's step is.
        effects = effects_of(session, outputs, flow, lambda: at)
        self.store.update(lookup, lambda _: (session, 0), ttl, lambda _: effects)
        sids: list[str] = []
        try:
            for body in texts:
                sids.append(send_message(self.client, to, from_, body))
        except Refused as refused:
            # They never got the question (or all of it): their next text is no answer to it.
            self._close(lookup, session.key, ttl)
            if refused.twilio_code == 21610:
                self.store.set_opt_out(to, from_, True)
            if sids:
                refused.message += f" (after {len(sids)} of {len(texts)} parts were sent)"
            raise
        return sids[0]

    def _close(self, lookup: str, key: str, ttl: float) -> None:
        def close(before: Session | None) -> tuple[Session | None, int]:
            if before is None or before.key != key:
                return None, 0
            return engine.close(before, "error", now()), 0

        self.store.update(lookup, close, ttl)
