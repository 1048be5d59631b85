"""The login session: Flask's signed cookie, byte for byte, with less work on every request.

Every page opens the session cookie, so its cost is paid by every request a signed-in person
makes. Two parts of Flask's default were work for nothing:

- Flask built a new signing serializer for each request, and building one serializes an empty
  dict to learn whether its output is text. It depends only on the app's keys, so one is kept
  per key set (a changed SECRET_KEY or fallback list gets a new one).
- The HMAC-SHA1 signature (twice a request: the key derivation is an HMAC too) ran in pure
  Python: Flask names SHA-1 through a wrapper function (so FIPS builds can import it), and
  Python's hmac takes its fast OpenSSL path only for hashlib's own constructors. Given
  hashlib.sha1 itself, the same HMAC-SHA1 comes out of OpenSSL: cookies already handed out
  stay valid, and a cookie signed either way reads back the same.
"""

from __future__ import annotations

import hashlib

from flask import Flask
from flask.sessions import SecureCookieSessionInterface
from itsdangerous import URLSafeTimedSerializer


class SignedCookieSessions(SecureCookieSessionInterface):
    digest_method = staticmethod(hashlib.sha1)

    def __init__(self) -> None:
        self.kept: tuple[tuple[object, ...], URLSafeTimedSerializer] | None = None

    def get_signing_serializer(self, app: Flask) -> URLSafeTimedSerializer | None:
        if not app.secret_key:
            return None
        keys = (app.secret_key, *(app.config.get("SECRET_KEY_FALLBACKS") or ()))
        kept = self.kept
        if kept is not None and kept[0] == keys:
            return kept[1]
        serializer = super().get_signing_serializer(app)
        if serializer is not None:
            self.kept = (keys, serializer)  # one assignment: safe with threaded workers
        return serializer
