"""ivr: phone menus and SMS keyword lines on Twilio, from YAML flow files."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"

if TYPE_CHECKING:
    from ivr.web.app import create_app as create_app


def __getattr__(name: str) -> Any:
    # `ivr.create_app` without making `import ivr` pull in the web stack for the CLI tools.
    if name == "create_app":
        from ivr.web.app import create_app

        return create_app
    raise AttributeError(name)
