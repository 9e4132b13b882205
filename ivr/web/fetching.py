"""Making the requests the engine asks for (`FetchRequest`) and handing it their replies.

On a call, the webhook that enters a `fetch` state answers at once with the state's prompts and
a `<Redirect>` to `/voice/{flow}/fetch`: the caller hears "one moment" while that second webhook
makes the request. On SMS the request is made within the text's own webhook, and what follows it
goes in the same reply. Either way a webhook spends at most `BUDGET` seconds on requests, so
Twilio, which gives up after 15, always has its answer.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Mapping

from ivr.engine import machine as engine
from ivr.engine.fetching import FetchReply, failed, prepare, timed_out
from ivr.engine.session import Session
from ivr.flow import templates
from ivr.flow.model import FetchState, Flow
from ivr.web.webhook import Hook, Outcome, StepFn, StepResult, advance, run_step

log = logging.getLogger("ivr.fetch")
BUDGET = 12.0  # seconds of requests one webhook may make
MAX_IN_A_ROW = 5  # requests one SMS webhook may make, one `fetch` state after another


def unset_secrets(flows: Mapping[str, Flow], secrets: Mapping[str, str]) -> list[str]:
    """A line for each secret a flow's `fetch` names and the server has no value for."""
    found = []
    for flow in flows.values():
        for state in flow.states.values():
            wanted = state.fetch.templates() if isinstance(state, FetchState) else []
            for name in sorted({n for text in wanted for n in templates.secrets(text)}):
                if name not in secrets:
                    found.append(
                        f"flow {flow.name}, state {state.name}: `{{{{ secret.{name} }}}}` has no "
                        f"value: set IVR_SECRET_{name}; until then its requests fail"
                    )
    return found


async def perform(hook: Hook, wanted: engine.FetchRequest, budget: float) -> FetchReply:
    """Send `wanted` with the server's secrets; log a failure with where it happened."""
    svc = hook.services
    prepared = prepare(wanted.fetch, wanted.variables, svc.settings.secrets)
    timeout = min(wanted.fetch.timeout, budget)
    if timeout <= 0:
        reply = timed_out(0)
    else:
        try:
            reply = await svc.fetcher(prepared, timeout, bool(wanted.fetch.save), wanted.state)
        except Exception as exc:  # a bug in sending must not cost the caller the call
            reply = failed(f"the request failed ({type(exc).__name__})")
    if reply.failed:
        log.warning(
            "fetch failed: %s (flow %s, state %s, conversation %s, url %s)",
            reply.reason,
            hook.flow_name,
            wanted.state,
            hook.conversation,
            prepared.shown,
        )
    return reply


# What a text's webhook stamps on each session it saves: the whole reply so far (`sms`).
Stamp = Callable[[Session, list[engine.Output]], Session]


def _reply_step(
    hook: Hook,
    wanted: engine.FetchRequest,
    reply: FetchReply,
    said: list[engine.Output],
    stamp: Stamp | None,
) -> StepFn:
    registry = hook.services.registry

    def on_reply(before: Session | None) -> StepResult:
        if before is None:
            return None, [], None
        if before.waiting != "fetch" or before.seq != wanted.seq:
            # Another webhook moved the conversation on meanwhile: this reply is stale.
            return before, [], registry.version(before.flow, before.version)
        after, outputs, flow = run_step(registry, before, engine.Event("fetched", reply=reply))
        if stamp is not None and after is not None:
            after = stamp(after, said + outputs)
        return after, outputs, flow

    return on_reply


async def follow(
    hook: Hook, lookup: str, ttl: float, outcome: Outcome, stamp: Stamp | None = None
) -> Outcome:
    """SMS: make the requests `outcome` asks for, in turn, each reply's outputs added to it.

    `stamp` marks each session saved with the outputs so far (a retry's answer, in `sms`).
    """
    outputs = list(outcome.outputs)
    loop = asyncio.get_running_loop()
    deadline = loop.time() + BUDGET
    for _ in range(MAX_IN_A_ROW):
        wanted = [o for o in outcome.outputs if isinstance(o, engine.FetchRequest)]
        if not wanted or outcome.session is None:
            break
        reply = await perform(hook, wanted[-1], deadline - loop.time())
        step = _reply_step(hook, wanted[-1], reply, list(outputs), stamp)
        outcome = await advance(hook, lookup, ttl, step)
        outputs += outcome.outputs
    return Outcome(outcome.session, outputs, outcome.flow)
