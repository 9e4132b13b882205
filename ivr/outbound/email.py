"""Email over SMTP with aiosmtplib: the server from `IVR_SMTP_URL`, and what its refusals mean."""

from __future__ import annotations

from dataclasses import dataclass
from email.message import EmailMessage
from email.utils import formatdate, make_msgid
from typing import TYPE_CHECKING
from urllib.parse import unquote, urlsplit

if TYPE_CHECKING:
    import aiosmtplib

TIMEOUT = 30.0  # seconds for the whole exchange


class SendFailed(Exception):
    """Nothing was sent. `final` when trying again can't help (the server refused for good)."""

    def __init__(self, message: str, final: bool) -> None:
        super().__init__(message)
        self.message = message
        self.final = final


@dataclass(frozen=True)
class SmtpServer:
    host: str
    port: int
    username: str | None
    password: str | None
    tls: bool  # TLS from the start (smtps://)

    @classmethod
    def from_url(cls, url: str) -> SmtpServer:
        """`smtp://user:pass@host:587` (STARTTLS) or `smtps://user:pass@host:465`."""
        parts = urlsplit(url)
        if parts.scheme not in ("smtp", "smtps") or not parts.hostname:
            raise ValueError(
                f"IVR_SMTP_URL={url.split('@')[-1]!r} is not an SMTP URL: write "
                "smtp://user:password@host:587 (STARTTLS) or smtps://user:password@host:465"
            )
        tls = parts.scheme == "smtps"
        try:
            port = parts.port or (465 if tls else 587)
        except ValueError as exc:
            raise ValueError(f"IVR_SMTP_URL has a port that is not a number: {exc}") from exc
        user = unquote(parts.username) if parts.username else None
        password = unquote(parts.password) if parts.password else None
        return cls(parts.hostname, port, user, password, tls)


def message(sender: str, to: str, subject: str, body: str) -> EmailMessage:
    mail = EmailMessage()
    mail["From"] = sender
    mail["To"] = to
    mail["Subject"] = subject
    mail["Date"] = formatdate(localtime=True)
    mail["Message-ID"] = make_msgid(domain=sender.rpartition("@")[2] or None)
    mail.set_content(body)
    return mail


async def send(server: SmtpServer, mail: EmailMessage) -> str:
    """Send `mail`; its Message-ID. Raises SendFailed."""
    # Imported by the first mail sent, not by every server that starts: most send none.
    import aiosmtplib

    try:
        await aiosmtplib.send(
            mail,
            hostname=server.host,
            port=server.port,
            username=server.username,
            password=server.password,
            use_tls=server.tls,
            # With a password, STARTTLS is required: it must never cross the network in clear.
            start_tls=False if server.tls else (True if server.password else None),
            timeout=TIMEOUT,
        )
    except aiosmtplib.SMTPRecipientsRefused as exc:
        refused = "; ".join(f"{r.recipient}: {r.code} {r.message}" for r in exc.recipients)
        raise SendFailed(
            f"the mail server refused {refused}", final=_final(exc.recipients)
        ) from exc
    except aiosmtplib.SMTPResponseException as exc:
        final = 500 <= exc.code < 600
        raise SendFailed(f"the mail server said {exc.code} {exc.message}", final) from exc
    except (aiosmtplib.SMTPException, OSError) as exc:
        where = f"{server.host}:{server.port}"
        raise SendFailed(f"can't reach the mail server {where}: {exc}", final=False) from exc
    return str(mail["Message-ID"])


def _final(refusals: list[aiosmtplib.SMTPRecipientRefused]) -> bool:
    return all(500 <= r.code < 600 for r in refusals)
