"""Mail settings: what the environment may set, and the transport that follows from them.

Two steps, so each can be tested alone and ``skillswap/settings.py`` stays the one place that
reads the environment:

1. ``settings_from_environment(os.environ, instance_path)`` turns environment variables (Replit
   secrets are plain environment variables) into ``MAIL_*`` config keys, with the defaults below.
2. ``transport_from_config(app.config)`` reads those keys from any mapping and builds the SMTP
   transport, or the outbox when ``MAIL_SERVER`` is empty.

| variable      | default                         | meaning                                   |
|---------------|---------------------------------|-------------------------------------------|
| MAIL_SERVER   | (empty)                         | SMTP host; empty: .eml files in the outbox |
| MAIL_PORT     | 587; 465 with SSL; 25 plain     | SMTP port                                 |
| MAIL_USERNAME | (empty)                         | log in when set                           |
| MAIL_PASSWORD | (empty)                         | never logged, never in a repr             |
| MAIL_USE_TLS  | true unless MAIL_USE_SSL        | STARTTLS, required (never falls back)     |
| MAIL_USE_SSL  | false                           | implicit TLS (port 465)                   |
| MAIL_FROM     | SkillSwap <skillswap@localhost> | the From of every mail                    |
| MAIL_TIMEOUT  | 10                              | seconds per SMTP operation                |
| MAIL_OUTBOX   | <instance>/outbox               | folder of .eml files without MAIL_SERVER  |
| MAIL_QUEUE    | <instance>/mail-queue.db        | SQLite file of mails waiting for a retry  |

STARTTLS is on by default: a relay on port 587 that does not offer it would otherwise receive
the password in clear text. A local relay without TLS needs ``MAIL_USE_TLS=false``.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from email.headerregistry import Address
from email.policy import default as default_policy
from pathlib import Path
from typing import Any

from skillswap.mail.transports import OutboxTransport, Security, SMTPTransport, Transport

DEFAULT_FROM = "SkillSwap <skillswap@localhost>"
DEFAULT_TIMEOUT = 10.0
_PORTS: dict[Security, int] = {"starttls": 587, "ssl": 465, "none": 25}
_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off"}


def _flag(raw: object, name: str) -> bool | None:
    """A boolean from config or the environment; None when unset."""
    if raw is None or isinstance(raw, bool):
        return raw
    text = str(raw).strip().lower()
    if not text:
        return None
    if text in _TRUE:
        return True
    if text in _FALSE:
        return False
    raise ValueError(f"{name} must be true or false, not {raw!r}")


def _number(raw: object, name: str, kind: Callable[[str], float]) -> float | None:
    if raw is None or raw == "":
        return None
    try:
        value = kind(str(raw).strip())
    except ValueError:
        raise ValueError(f"{name} must be a number, not {raw!r}") from None
    if value <= 0:
        raise ValueError(f"{name} must be positive, not {raw!r}")
    return value


def parse_sender(text: str) -> Address:
    """The one address in MAIL_FROM ("SkillSwap <no-reply@example.org>" or a bare address)."""
    header = default_policy.header_factory("From", text)
    addresses = getattr(header, "addresses", ())
    if header.defects or len(addresses) != 1 or not addresses[0].domain:
        raise ValueError(f"MAIL_FROM must be one address such as {DEFAULT_FROM!r}, not {text!r}")
    return addresses[0]


def settings_from_environment(environ: Mapping[str, str], instance_path: str) -> dict[str, Any]:
    """MAIL_* config keys from the environment (see the table above); values stay as typed
    (strings), ``transport_from_config`` checks them, so a typo fails at start-up."""
    get = environ.get
    return {
        "MAIL_SERVER": get("MAIL_SERVER", "").strip(),
        "MAIL_PORT": get("MAIL_PORT", "").strip(),
        "MAIL_USERNAME": get("MAIL_USERNAME", "").strip(),
        "MAIL_PASSWORD": get("MAIL_PASSWORD", ""),
        "MAIL_USE_TLS": get("MAIL_USE_TLS", "").strip(),
        "MAIL_USE_SSL": get("MAIL_USE_SSL", "").strip(),
        "MAIL_FROM": get("MAIL_FROM", "").strip() or DEFAULT_FROM,
        "MAIL_TIMEOUT": get("MAIL_TIMEOUT", "").strip(),
        "MAIL_OUTBOX": get("MAIL_OUTBOX", "").strip() or os.path.join(instance_path, "outbox"),
        "MAIL_QUEUE": get("MAIL_QUEUE", "").strip() or os.path.join(instance_path, "mail-queue.db"),
    }


@dataclass(frozen=True)
class MailSettings:
    """MAIL_* keys, checked and typed."""

    server: str
    port: int
    username: str
    password: str = field(repr=False)
    security: Security
    sender: Address
    timeout: float
    outbox: Path
    queue: Path

    @classmethod
    def from_config(cls, config: Mapping[str, Any]) -> MailSettings:
        use_tls = _flag(config.get("MAIL_USE_TLS"), "MAIL_USE_TLS")
        use_ssl = _flag(config.get("MAIL_USE_SSL"), "MAIL_USE_SSL")
        if use_tls and use_ssl:
            raise ValueError("Set MAIL_USE_TLS (STARTTLS) or MAIL_USE_SSL (implicit TLS), not both")
        security: Security = "ssl" if use_ssl else "none" if use_tls is False else "starttls"
        port = _number(config.get("MAIL_PORT"), "MAIL_PORT", int)
        timeout = _number(config.get("MAIL_TIMEOUT"), "MAIL_TIMEOUT", float)
        for key in ("MAIL_OUTBOX", "MAIL_QUEUE"):
            if not config.get(key):
                raise ValueError(f"{key} is missing; settings_from_environment() provides it")
        return cls(
            server=str(config.get("MAIL_SERVER") or "").strip(),
            port=int(port or _PORTS[security]),
            username=str(config.get("MAIL_USERNAME") or "").strip(),
            password=str(config.get("MAIL_PASSWORD") or ""),
            security=security,
            sender=parse_sender(str(config.get("MAIL_FROM") or DEFAULT_FROM)),
            timeout=float(timeout or DEFAULT_TIMEOUT),
            outbox=Path(config["MAIL_OUTBOX"]),
            queue=Path(config["MAIL_QUEUE"]),
        )


def transport_from_config(config: Mapping[str, Any], clock: Callable[[], datetime]) -> Transport:
    """SMTP when MAIL_SERVER is set, else the outbox folder. ``clock`` names outbox files."""
    settings = MailSettings.from_config(config)
    if not settings.server:
        return OutboxTransport(settings.outbox, clock)
    return SMTPTransport(
        host=settings.server,
        port=settings.port,
        username=settings.username,
        password=settings.password,
        security=settings.security,
        timeout=settings.timeout,
    )
