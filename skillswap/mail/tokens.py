"""Signed, time-limited tokens for the links in mails: password reset, email verification,
unsubscribe.

Each token names a purpose (its own itsdangerous salt, so a verification token never resets a
password), a subject (the account id), and a fingerprint of what must not have changed since it
was issued. The fingerprint is the caller's: for a reset, e.g. the password hash and the session
version; for verification, the address being verified. Only a keyed hash of it travels in the
token, so a password hash never leaves the server.

Single use is the caller's job, and the fingerprint does it: a reset changes the password hash,
so its token no longer matches; verifying an address changes what is pending, so its token no
longer matches. Where nothing changes (unsubscribing twice does no harm) nothing is needed;
where something must run once without changing the fingerprint, store ``Token.id`` until
``Token.issued + max_age`` and refuse it the second time.
"""

from __future__ import annotations

import hashlib
import hmac
from base64 import urlsafe_b64encode
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from secrets import token_urlsafe
from typing import Any

from itsdangerous import BadSignature, SignatureExpired, TimestampSigner, URLSafeTimedSerializer

#: Purposes and how long their links work.
MAX_AGE: dict[str, timedelta] = {
    "reset-password": timedelta(hours=1),
    "verify-email": timedelta(days=3),
    # One-click unsubscribe links must keep working in old mails (RFC 8058).
    "unsubscribe": timedelta(days=365),
}


class BadToken(Exception):
    """A link that cannot be used; the message can be shown as it is."""


class ExpiredToken(BadToken):
    pass


class StaleToken(BadToken):
    """Signed by us and in time, but what it was bound to has changed (already used, or the
    password changed since)."""


@dataclass(frozen=True)
class Token:
    subject: str
    id: str  # random, for callers that must remember a token as used
    issued: datetime


class _SignerAt(TimestampSigner):
    """itsdangerous's timestamp signer on an injected clock, so tests never sleep."""

    def __init__(self, *args: Any, now: datetime, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._now = now

    def get_timestamp(self) -> int:
        return int(self._now.timestamp())


def _serializer(secret_key: str | bytes, purpose: str, now: datetime) -> URLSafeTimedSerializer:
    if purpose not in MAX_AGE:
        raise ValueError(f"unknown token purpose {purpose!r}; known: {', '.join(MAX_AGE)}")
    if now.tzinfo is None:
        raise ValueError(f"now must be timezone-aware, got {now!r}")
    return URLSafeTimedSerializer(
        secret_key,
        salt=f"skillswap.mail.{purpose}",
        signer=_SignerAt,
        signer_kwargs={"now": now},
    )


def _digest(secret_key: str | bytes, purpose: str, fingerprint: str) -> str:
    key = secret_key.encode() if isinstance(secret_key, str) else secret_key
    mac = hmac.new(key, f"{purpose}\0{fingerprint}".encode(), hashlib.sha256).digest()
    return urlsafe_b64encode(mac[:16]).decode().rstrip("=")


def make_token(
    secret_key: str | bytes, purpose: str, subject: str, fingerprint: str, now: datetime
) -> str:
    """A URL-safe token for ``subject`` that works for ``purpose`` while ``fingerprint``
    stays the same, until ``MAX_AGE[purpose]`` after ``now``."""
    payload = {"s": subject, "f": _digest(secret_key, purpose, fingerprint), "n": token_urlsafe(9)}
    return _serializer(secret_key, purpose, now).dumps(payload)


def read_token(
    secret_key: str | bytes,
    purpose: str,
    token: str,
    *,
    fingerprint_of: Callable[[str], str | None],
    now: datetime,
    max_age: timedelta | None = None,
) -> Token:
    """The token's subject, if ``token`` was made for ``purpose``, is younger than
    ``max_age`` (default ``MAX_AGE[purpose]``) at ``now``, and ``fingerprint_of(subject)``
    still gives the fingerprint it was made with (None: the subject is gone).

    Raises ``ExpiredToken``, ``StaleToken`` or ``BadToken`` (anything else: tampered, another
    purpose, another key, garbage)."""
    age = max_age if max_age is not None else MAX_AGE[purpose]
    serializer = _serializer(secret_key, purpose, now)
    try:
        payload, issued = serializer.loads(
            token, max_age=int(age.total_seconds()), return_timestamp=True
        )
    except SignatureExpired:
        raise ExpiredToken("This link has expired. Ask for a new one.") from None
    except BadSignature:
        raise BadToken("This link is not valid. Check that it was copied whole.") from None
    if not (
        isinstance(payload, dict)
        and isinstance(payload.get("s"), str)
        and isinstance(payload.get("f"), str)
        and isinstance(payload.get("n"), str)
    ):
        raise BadToken("This link is not valid. Check that it was copied whole.")
    current = fingerprint_of(payload["s"])
    if current is None or not hmac.compare_digest(
        payload["f"], _digest(secret_key, purpose, current)
    ):
        raise StaleToken("This link has already been used or is no longer valid.")
    return Token(subject=payload["s"], id=payload["n"], issued=issued.astimezone(UTC))
