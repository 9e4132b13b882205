"""What `ivr serve` imports: Twilio's REST client (and `requests` under it) only once a client is
made, with outbound credentials; a server without them, every test server among them, starts
without it."""

from __future__ import annotations

import subprocess
import sys

from conftest import ROOT

LOOK = (
    "import sys\n"
    "import ivr.cli.commands, ivr.web.app, ivr.web.server\n"
    "print(' '.join(m for m in ('requests', 'twilio.rest') if m in sys.modules))\n"
)


def test_the_server_imports_no_rest_client_until_one_is_made() -> None:
    done = subprocess.run(
        [sys.executable, "-c", LOOK], capture_output=True, text=True, check=True, cwd=ROOT
    )
    assert done.stdout.strip() == "", f"imported at start: {done.stdout.strip()}"
