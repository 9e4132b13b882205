"""The `ivr` command: maps arguments to functions, nothing more."""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence

from ivr import __version__
from ivr.cli import commands
from ivr.settings import OPTIONS, Settings, SettingsError


def _flows(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--flows",
        dest="flows_dir",
        default=None,
        metavar="DIR",
        help="folder of flow files (default: flows, or IVR_FLOWS)",
    )


def settings_from(args: argparse.Namespace) -> Settings:
    """The settings of a command: its options over the environment."""
    given = vars(args)
    options = {name: given.get(name) for name in OPTIONS}
    if given.get("flows_arg") is not None:  # `ivr serve FLOWS_DIR`
        options["flows_dir"] = given["flows_arg"]
    return Settings.from_env(**options)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="ivr", description="Phone menus and SMS lines on Twilio, from YAML flow files."
    )
    parser.add_argument("--version", action="version", version=f"ivr {__version__}")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    p = sub.add_parser("serve", help="answer Twilio's webhooks from the flows")
    p.add_argument(
        "flows_arg",
        nargs="?",
        default=None,
        metavar="FLOWS_DIR",
        help="folder of flow files (default: flows, or IVR_FLOWS)",
    )
    _flows(p)
    p.add_argument("--host", default=None, help="address to listen on (default 127.0.0.1)")
    p.add_argument("--port", type=int, default=None, help="port (default 8000)")
    p.add_argument(
        "--store",
        default=None,
        help="sqlite:///FILE (default sqlite:///ivr.sqlite3), memory://, redis://...",
    )
    p.add_argument(
        "--public-url",
        default=None,
        help="the https base URL Twilio calls, behind a proxy or tunnel",
    )
    p.add_argument("--workers", type=int, default=None, help="worker processes (default 1)")
    p.add_argument(
        "--insecure",
        action="store_true",
        default=None,
        help="accept unsigned requests when TWILIO_AUTH_TOKEN is not set",
    )
    p.add_argument(
        "--keep-history",
        default=None,
        metavar="DURATION",
        help="how long ended conversations are kept, e.g. 30d, 12h, 90s (default 30d)",
    )
    p.add_argument(
        "--keep-messages",
        default=None,
        metavar="DURATION",
        help="how long recordings and texts kept for the office are listed (default 90d)",
    )
    p.add_argument(
        "--log-format",
        choices=["text", "json"],
        default=None,
        help="log lines as text with a timestamp (default), or one JSON object a line",
    )
    p.add_argument(
        "--access-log",
        action="store_true",
        default=None,
        help="log a line for every HTTP request (or IVR_ACCESS_LOG=1)",
    )
    p.add_argument(
        "--max-connections",
        type=int,
        default=None,
        help="open connections per worker (default 1000, and below the file limit)",
    )
    p.add_argument(
        "--metrics-port",
        type=int,
        default=None,
        help="serve /metrics for Prometheus on this port too, without a token (default: off)",
    )
    p.set_defaults(fn=commands.serve)

    p = sub.add_parser("check", help="check flow files and report every problem")
    p.add_argument(
        "paths", nargs="*", metavar="PATH", help="files or folders (default: the flows folder)"
    )
    _flows(p)
    p.add_argument("--strict", action="store_true", help="fail on warnings too")
    p.add_argument("--format", choices=["text", "github"], default="text")
    p.set_defaults(fn=commands.check)

    p = sub.add_parser("schema", help="print the JSON Schema of flow files")
    p.set_defaults(fn=commands.schema)

    for name, fn, what in (
        ("history", commands.history, "recent conversations"),
        ("messages", commands.messages, "recordings and messages left"),
    ):
        p = sub.add_parser(name, help=f"list {what}")
        p.add_argument("--flow", default=None)
        p.add_argument("--last", type=int, default=20)
        p.add_argument("--store", default=None, help="as for serve (default from IVR_STORE)")
        p.set_defaults(fn=fn)

    p = sub.add_parser("switch", help="list the switches, or turn one on or off")
    p.add_argument("name", nargs="?", default=None, help="the switch (without: list them all)")
    p.add_argument("value", nargs="?", choices=["on", "off"], default=None)
    p.add_argument(
        "--until",
        default=None,
        metavar="TIME",
        help='then it turns back by itself, e.g. "2026-12-24 08:00"',
    )
    p.add_argument("--tz", default=None, help="the time zone of --until (default: the flows')")
    p.add_argument("--flow", default=None, help="the flow whose time zone --until is in")
    p.add_argument("--store", default=None, help="as for serve (default from IVR_STORE)")
    _flows(p)
    p.set_defaults(fn=commands.switch)

    p = sub.add_parser("simulate", help="try a flow in the terminal, without a phone")
    p.add_argument("flow")
    p.add_argument("--sms", action="store_true", help="text instead of calling")
    p.add_argument("--from", dest="caller", default="+15005550006")
    p.add_argument("--to", dest="called", default="+15005550001")
    p.add_argument(
        "--at",
        default=None,
        metavar="TIME",
        help='the clock the flow sees, e.g. "2026-12-01 10:00" (its hours\' timezone)',
    )
    p.add_argument(
        "--switch",
        action="append",
        default=[],
        metavar="NAME=on|off",
        help="turn a switch before the call or text starts",
    )
    _flows(p)
    p.set_defaults(fn=commands.simulate)

    p = sub.add_parser("test", help="run the conversation tests written beside the flows")
    p.add_argument("paths", nargs="*", metavar="PATH", help="test files or folders")
    _flows(p)
    p.add_argument("--junit", default=None, metavar="FILE", help="also write JUnit XML")
    p.set_defaults(fn=commands.test)

    p = sub.add_parser("graph", help="draw a flow as a Mermaid or Graphviz diagram")
    p.add_argument("flow")
    _flows(p)
    p.add_argument("--format", choices=["mermaid", "dot"], default="mermaid")
    p.add_argument(
        "--language", default=None, help="show the prompts in this language (default: the first)"
    )
    p.set_defaults(fn=commands.graph)

    for name, what in (
        ("call", "call a number (or each row of a CSV) with a flow"),
        ("text", "start a text conversation with a number (or a CSV)"),
    ):
        p = sub.add_parser(name, help=what)
        p.add_argument("flow")
        p.add_argument("--to", default=None, help="the number to reach, E.164 (+15551234567)")
        p.add_argument("--from", dest="caller", default=None, help="your Twilio number")
        p.add_argument("--var", action="append", default=[], metavar="NAME=VALUE")
        p.add_argument("--csv", default=None, help="a CSV with a `to` column and variables")
        p.add_argument("--rate", type=float, default=1.0, help="per second (default 1)")
        p.add_argument("--results", default=None, help="result file (default CSV.results.csv)")
        _flows(p)
        p.add_argument("--store", default=None, help="as for serve (default from IVR_STORE)")
        if name == "call":
            p.add_argument(
                "--detect-machine",
                action="store_true",
                help="wait out an answering machine's greeting; the flow gets `answered_by`",
            )
        p.set_defaults(fn=commands.outbound)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        settings = settings_from(args)
    except SettingsError as bad:
        print(f"error: {bad}", file=sys.stderr)
        return 2
    try:
        code: int = args.fn(args, settings)
        sys.stdout.flush()
    except KeyboardInterrupt:
        code = 130
    except BrokenPipeError:
        # The reader went away (`ivr history | head -1`): what it read was all it wanted.
        # Python would flush stdout again at exit and fail the same way, so it goes nowhere.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        code = 0
    return code
