"""One typed settings object, built once from command-line options and the environment.

Every command builds it the same way (`Settings.from_env`), so each `IVR_*` variable means the
same everywhere. It is checked when built: a bad value raises `SettingsError`, whose message
names the option or variable and the value. `serve` hands it whole to its workers, as JSON in
one environment variable (`to_json` / `from_json`).
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field, fields

from ivr.engine.fetching import secrets_from_env

STORE_SCHEMES = ("sqlite://", "memory://", "redis://", "rediss://")
LOG_FORMATS = ("text", "json")
LOG_LEVELS = ("critical", "error", "warning", "info", "debug", "trace")
# What `serve` puts in its workers' environment: the whole settings object, as JSON.
WORKER_VARIABLE = "IVR_SERVE_SETTINGS"

# The environment variable each field is read from, and the option that sets it (if any).
ENV = {
    "flows_dir": "IVR_FLOWS",
    "host": "IVR_HOST",
    "port": "IVR_PORT",
    "workers": "IVR_WORKERS",
    "store": "IVR_STORE",
    "public_url": "IVR_PUBLIC_URL",
    "auth_token": "TWILIO_AUTH_TOKEN",
    "insecure": "IVR_INSECURE",
    "api_token": "IVR_API_TOKEN",
    "account_sid": "TWILIO_ACCOUNT_SID",
    "api_key": "TWILIO_API_KEY",
    "api_secret": "TWILIO_API_SECRET",
    "api_base": "TWILIO_API_BASE",
    "log_level": "IVR_LOG_LEVEL",
    "flow_recheck": "IVR_FLOW_RECHECK",
    "smtp_url": "IVR_SMTP_URL",
    "email_from": "IVR_EMAIL_FROM",
    "console_password": "IVR_CONSOLE_PASSWORD",
    "keep_history": "IVR_KEEP_HISTORY",
    "keep_messages": "IVR_KEEP_MESSAGES",
    "log_format": "IVR_LOG_FORMAT",
    "access_log": "IVR_ACCESS_LOG",
    "max_connections": "IVR_MAX_CONNECTIONS",
    "header_timeout": "IVR_HEADER_TIMEOUT",
    "keep_alive": "IVR_KEEP_ALIVE",
    "metrics_token": "IVR_METRICS_TOKEN",
    "metrics_port": "IVR_METRICS_PORT",
}
OPTIONS = {
    "flows_dir": "--flows",
    "host": "--host",
    "port": "--port",
    "workers": "--workers",
    "store": "--store",
    "public_url": "--public-url",
    "insecure": "--insecure",
    "keep_history": "--keep-history",
    "keep_messages": "--keep-messages",
    "log_format": "--log-format",
    "access_log": "--access-log",
    "max_connections": "--max-connections",
    "metrics_port": "--metrics-port",
}
DAY = 24 * 3600.0
DURATION = re.compile(r"\s*([0-9]+(?:\.[0-9]+)?)\s*([smhd]?)\s*")
UNITS = {"s": 1.0, "m": 60.0, "h": 3600.0, "d": DAY}


class SettingsError(ValueError):
    """A setting has a value that can't be used; the message names it and the value."""


@dataclass(frozen=True)
class Settings:
    flows_dir: str = "flows"
    host: str = "127.0.0.1"
    port: int = 8000
    workers: int = 1
    store: str = "sqlite:///ivr.sqlite3"
    # The base URL Twilio calls (behind a proxy or tunnel); signatures are checked against it.
    public_url: str = ""
    auth_token: str = field(default="", repr=False)
    insecure: bool = False
    api_token: str = field(default="", repr=False)
    account_sid: str = ""
    api_key: str = ""
    api_secret: str = field(default="", repr=False)
    api_base: str = ""  # TWILIO_API_BASE: send REST calls to another base URL
    # Where notes to the office are emailed from: smtp://user:pass@host:587 (STARTTLS) or
    # smtps://user:pass@host:465 (TLS from the start).
    smtp_url: str = field(default="", repr=False)
    email_from: str = ""
    voice_session_ttl: float = 24 * 3600.0
    # How often, in seconds, a served flow's file is looked at for edits (0: on every call).
    flow_recheck: float = 1.0
    log_level: str = "info"
    console_password: str = field(default="", repr=False)  # the console is off without one
    # How long ended conversations stay in the history, and kept recordings and texts in the
    # messages, in seconds; opt-outs are kept for good.
    keep_history: float = 30 * DAY
    keep_messages: float = 90 * DAY
    # `IVR_SECRET_NAME=value` is `{{ secret.NAME }}` in a `fetch`: sent, never shown or kept.
    secrets: Mapping[str, str] = field(default_factory=dict, repr=False)
    log_format: str = "text"  # text | json (one JSON object a line)
    access_log: bool = False  # a line for every HTTP request
    # Open connections a worker keeps; past it, one that hasn't sent a whole request yet is
    # dropped for the newcomer. Also bounded below the process's file limit.
    max_connections: int = 1000
    # Seconds a connection may take to send a request's headers, and may stay idle between
    # requests: slow or stalled clients don't hold a connection for ever.
    header_timeout: float = 10.0
    keep_alive: float = 5.0
    # The metrics are served with this bearer token, or on their own port (0: not served there).
    metrics_token: str = field(default="", repr=False)
    metrics_port: int = 0

    def __post_init__(self) -> None:
        self.check()

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None, **options: object) -> Settings:
        """Settings from `IVR_*` and `TWILIO_*` variables; `options` that are not None win."""
        env = os.environ if env is None else env
        values: dict[str, object] = {}
        source: dict[str, str] = {}
        for name, variable in ENV.items():
            given = options.get(name)
            if given is not None:
                values[name] = given
                source[name] = OPTIONS.get(name, name)
            elif variable in env:
                values[name] = env[variable]
                source[name] = variable
        values["secrets"] = secrets_from_env(env)
        unknown = options.keys() - ENV.keys()
        if unknown:
            raise TypeError(f"Settings has no field {sorted(unknown)[0]!r}")
        for name in ("port", "workers", "max_connections", "metrics_port"):
            if isinstance(values.get(name), str):
                values[name] = _integer(source[name], str(values[name]))
        if isinstance(values.get("flow_recheck"), str):
            values["flow_recheck"] = _seconds(source["flow_recheck"], str(values["flow_recheck"]))
        for name in ("header_timeout", "keep_alive"):
            if isinstance(values.get(name), str):
                values[name] = _seconds(source[name], str(values[name]))
        for name in ("insecure", "access_log"):
            if isinstance(values.get(name), str):
                values[name] = str(values[name]).strip().lower() in ("1", "true", "yes")
        for name in ("keep_history", "keep_messages"):
            if isinstance(values.get(name), str):
                values[name] = parse_duration(source[name], str(values[name]))
        if "public_url" in values:
            values["public_url"] = str(values["public_url"]).rstrip("/")
        try:
            return cls(**values)  # type: ignore[arg-type]
        except _Bad as bad:
            where = source.get(bad.field, bad.field)
            raise SettingsError(f"{where}={bad.value!r}: {bad.reason}") from None

    def check(self) -> None:
        """Every rule a value must keep; the first broken one raises."""
        if not 0 < self.port < 65536:
            raise _Bad("port", str(self.port), "a port is a number from 1 to 65535")
        if self.workers < 1:
            raise _Bad("workers", str(self.workers), "give at least 1 worker")
        if not self.store.startswith(STORE_SCHEMES):
            raise _Bad(
                "store",
                self.store,
                "a store URL starts with sqlite:///, memory://, redis:// or rediss://",
            )
        if self.store.startswith("memory://") and self.workers > 1:
            raise _Bad(
                "store",
                self.store,
                f"the memory store lives in one process, so {self.workers} workers would not "
                "share their calls: use one worker, or sqlite:/// or redis:// for several",
            )
        if self.flow_recheck < 0:
            raise _Bad("flow_recheck", str(self.flow_recheck), "give 0 or more seconds")
        if self.smtp_url and not self.smtp_url.startswith(("smtp://", "smtps://")):
            raise _Bad(
                "smtp_url",
                self.smtp_url.rpartition("@")[2],  # never the password
                "write smtp://user:password@host:587 (STARTTLS) or smtps://user:password@host:465",
            )
        for name in ("keep_history", "keep_messages"):
            if getattr(self, name) <= 0:
                raise _Bad(name, str(getattr(self, name)), "keep them for some time, e.g. 30d")
        if self.log_format not in LOG_FORMATS:
            raise _Bad("log_format", self.log_format, "use text or json")
        if self.max_connections < 1:
            raise _Bad("max_connections", str(self.max_connections), "allow at least 1")
        for name in ("header_timeout", "keep_alive"):
            if getattr(self, name) <= 0:
                raise _Bad(name, str(getattr(self, name)), "give more than 0 seconds")
        same = self.metrics_port == self.port
        if not 0 <= self.metrics_port < 65536 or same:
            raise _Bad(
                "metrics_port", str(self.metrics_port), "a port from 1 to 65535, not the server's"
            )
        if self.log_level.lower() not in LOG_LEVELS:
            raise _Bad("log_level", self.log_level, f"use one of {', '.join(LOG_LEVELS)}")

    def to_json(self) -> str:
        return json.dumps(asdict(self))

    @classmethod
    def from_json(cls, text: str) -> Settings:
        data = json.loads(text)
        return cls(**{f.name: data[f.name] for f in fields(cls) if f.name in data})


def redacted(url: str) -> str:
    """A store or SMTP URL fit for a log: its password, if any, replaced by ***."""
    scheme, sep, rest = url.partition("://")
    userinfo, at, host = rest.rpartition("@")
    if not sep or not at or ":" not in userinfo:
        return url
    return f"{scheme}://{userinfo.partition(':')[0]}:***@{host}"


class _Bad(SettingsError):
    # Raised by `check`, which knows the field but not where its value came from.
    def __init__(self, name: str, value: str, reason: str) -> None:
        super().__init__(f"{name}={value!r}: {reason}")
        self.field, self.value, self.reason = name, value, reason


def _integer(where: str, text: str) -> int:
    try:
        return int(text.strip())
    except ValueError:
        raise SettingsError(f"{where}={text!r}: give a whole number") from None


def _seconds(where: str, text: str) -> float:
    try:
        return float(text.strip())
    except ValueError:
        raise SettingsError(f"{where}={text!r}: give a number of seconds") from None


def parse_duration(where: str, text: str) -> float:
    """Seconds in `30d`, `12h`, `15m` or `90s` (a bare number is seconds)."""
    found = DURATION.fullmatch(text.lower())
    seconds = float(found[1]) * UNITS[found[2] or "s"] if found else 0.0
    if seconds <= 0:
        raise SettingsError(
            f"{where}={text!r}: give a duration, a number and a unit: s (seconds), "
            "m (minutes), h (hours) or d (days), such as 30d, 12h or 90s"
        )
    return seconds
