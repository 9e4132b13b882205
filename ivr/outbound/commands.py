"""`ivr call` and `ivr text`: start calls and text conversations through Twilio's REST API.

One number with `--to`, or every row of a CSV with `--csv`. Refusals are one line on stderr and
exit status 2, with nothing sent; a CSV run exits 1 when some rows were not sent.
"""

from __future__ import annotations

import sys
from collections.abc import Mapping, Sequence
from pathlib import Path

from ivr.flow.loader import load_flows
from ivr.flow.model import Flow
from ivr.flow.problems import format_text
from ivr.outbound.bulk import default_results, read_rows, run_bulk
from ivr.outbound.rest import Refused, make_client, missing_credentials
from ivr.outbound.start import Sender, check_number, parse_variables
from ivr.settings import Settings, SettingsError
from ivr.store import Store, open_store


def outbound(
    command: str,
    flow: str,
    *,
    to: str | None,
    from_: str | None,
    variables: Sequence[str],
    csv_path: str | None,
    rate: float,
    results: str | None,
    settings: Settings | None = None,
    flows_dir: str | None = None,
    store: str | None = None,
    detect_machine: bool = False,
) -> int:
    """Run `ivr call` (command "call") or `ivr text` (command "text"); the exit status.

    `detect_machine` asks Twilio for answering-machine detection on every call (a CSV's
    `detect_machine` column says it row by row)."""
    what = "calls" if command == "call" else "texts"
    opened: Store | None = None
    try:
        if settings is None:
            settings = Settings.from_env(flows_dir=flows_dir, store=store)
        missing = _missing(command, settings, to, from_, csv_path, rate)
        if missing:
            for line in missing:
                print(f"error: {line}", file=sys.stderr)
            return 2
        assert from_ is not None
        defaults = parse_variables(variables)
        check_number(from_, "the 'from'")
        found = _load(settings.flows_dir, flow)
        rows = read_rows(csv_path) if csv_path else []
        client = make_client(settings)
        opened = open_store(settings.store)
        opened.open()
        sender = Sender(settings, opened, client)

        def send(number: str, values: Mapping[str, str], detect: bool | None = None) -> str:
            if command == "text":
                return sender.text(found, number, from_, values)
            machine = detect_machine if detect is None else detect
            return sender.call(found, number, from_, values, detect_machine=machine)

        if csv_path:
            return run_bulk(
                rows,
                send,
                results or default_results(csv_path),
                rate=rate,
                what=what,
                defaults=defaults,
            )
        assert to is not None
        print(send(to, defaults))
        return 0
    except Refused as refused:
        print(f"error: {refused.message}", file=sys.stderr)
        return 2
    except SettingsError as bad:
        print(f"error: {bad}", file=sys.stderr)
        return 2
    except Exception as exc:  # the store or the file system; still one line, not a traceback
        print(
            f"error: the {what} could not be started: {type(exc).__name__}: {exc}", file=sys.stderr
        )
        return 1
    finally:
        if opened is not None:
            opened.close()


def _missing(
    command: str,
    settings: Settings,
    to: str | None,
    from_: str | None,
    csv_path: str | None,
    rate: float,
) -> list[str]:
    # Every setting missing at once, so that one run says all there is to set.
    missing = []
    if (to is None) == (csv_path is None):
        missing.append("give either --to NUMBER or --csv FILE")
    if not from_:
        missing.append("--from is required: the Twilio number to call or text from")
    if rate <= 0:
        missing.append("--rate must be more than 0 (sends per second)")
    if settings.store.startswith("memory:"):
        # What this process saves must outlive it: the server picks it up when they answer.
        missing.append(
            "the memory store ends with this command, so the server would never see the "
            "conversation: use the store `ivr serve` uses (--store or IVR_STORE)"
        )
    if command == "call" and not settings.public_url:
        missing.append(
            "IVR_PUBLIC_URL is not set: Twilio needs the public https address of the server "
            "running `ivr serve` to fetch the flow when the call is answered"
        )
    return missing + missing_credentials(settings)


def _load(flows_dir: str, name: str) -> Flow:
    flows, problems = load_flows([flows_dir])
    errors = [p for p in problems if p.level == "error" and Path(p.file).stem == name]
    if errors:
        raise Refused(
            f"flow {name!r} has errors; fix them first:\n{format_text(errors)}", "flow_errors"
        )
    found = flows.get(name)
    if found is None:
        known = ", ".join(sorted(flows)) or "none"
        raise Refused(
            f"no flow named {name!r} in {flows_dir} (flows there: {known})", "unknown_flow"
        )
    return found
