"""What each `ivr` subcommand runs: one function each, importing its tools only when used."""

from __future__ import annotations

import argparse

from ivr.settings import Settings


def serve(a: argparse.Namespace, s: Settings) -> int:
    from ivr.web.server import serve

    # The web app, with the console when it is on: without it, the console's modules (its
    # pages, Jinja2, the tools it runs) are never imported, a fifth of a server's start.
    if s.console_password:
        return serve(s, factory="ivr.console.app:app_factory")
    return serve(s)


def check(a: argparse.Namespace, s: Settings) -> int:
    from ivr.tools.check import check

    return check(a.paths or [s.flows_dir], strict=a.strict, fmt=a.format)


def schema(a: argparse.Namespace, s: Settings) -> int:
    from ivr.flow.schema import schema_text

    print(schema_text())
    return 0


def history(a: argparse.Namespace, s: Settings) -> int:
    from ivr.tools.reports import history

    return history(s.store, flow=a.flow, last=a.last)


def messages(a: argparse.Namespace, s: Settings) -> int:
    from ivr.tools.reports import messages

    return messages(s.store, flow=a.flow, last=a.last)


def switch(a: argparse.Namespace, s: Settings) -> int:
    from ivr.tools.switch import switch

    return switch(a.name, a.value, s, until=a.until, tz=a.tz, flow=a.flow)


def simulate(a: argparse.Namespace, s: Settings) -> int:
    from ivr.tools.simulate import simulate

    return simulate(
        a.flow,
        flows_dir=s.flows_dir,
        sms=a.sms,
        caller=a.caller,
        called=a.called,
        at=a.at,
        switches=a.switch,
    )


def test(a: argparse.Namespace, s: Settings) -> int:
    from ivr.tools.flowtests.suite import run_tests

    return run_tests(a.paths, flows_dir=s.flows_dir, junit=a.junit)


def graph(a: argparse.Namespace, s: Settings) -> int:
    from ivr.tools.graph import graph

    return graph(a.flow, flows_dir=s.flows_dir, fmt=a.format, language=a.language)


def outbound(a: argparse.Namespace, s: Settings) -> int:
    from ivr.outbound.commands import outbound

    return outbound(
        a.command,
        a.flow,
        to=a.to,
        from_=a.caller,
        variables=a.var,
        csv_path=a.csv,
        rate=a.rate,
        results=a.results,
        settings=s,
        detect_machine=getattr(a, "detect_machine", False),
    )
