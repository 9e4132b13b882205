"""One typed settings object, filled from command-line options and the environment."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field


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
    voice_session_ttl: float = 24 * 3600.0
    log_level: str = "info"

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None, **overrides: object) -> Settings:
        """Settings from `IVR_*` and `TWILIO_*` variables; `overrides` that are not None win."""
        env = os.environ if env is None else env
        values: dict[str, object] = {
            "flows_dir": env.get("IVR_FLOWS", cls.flows_dir),
            "host": env.get("IVR_HOST", cls.host),
            "port": int(env.get("IVR_PORT", cls.port)),
            "workers": int(env.get("IVR_WORKERS", cls.workers)),
            "store": env.get("IVR_STORE", cls.store),
            "public_url": env.get("IVR_PUBLIC_URL", ""),
            "auth_token": env.get("TWILIO_AUTH_TOKEN", ""),
            "insecure": env.get("IVR_INSECURE", "") in ("1", "true", "yes"),
            "api_token": env.get("IVR_API_TOKEN", ""),
            "account_sid": env.get("TWILIO_ACCOUNT_SID", ""),
            "api_key": env.get("TWILIO_API_KEY", ""),
            "api_secret": env.get("TWILIO_API_SECRET", ""),
            "api_base": env.get("TWILIO_API_BASE", ""),
            "log_level": env.get("IVR_LOG_LEVEL", cls.log_level),
        }
        values.update({k: v for k, v in overrides.items() if v is not None})
        values["public_url"] = str(values["public_url"]).rstrip("/")
        return cls(**values)  # type: ignore[arg-type]
