"""Absolute links to the site, for mails and calendars, with or without a request.

From PUBLIC_URL when it is set: the one address people reach the site at, the same in a page
and in a reminder a background sender mails with no request at all. Else from the request
being answered, but only when TRUSTED_HOSTS is set (Flask answers any other host with 400):
the Host header is the sender's to choose, and a password-reset link built from it would hand
the owner's token to whatever site it names. Else from LOCAL_URL (right for `make run`), with
a warning that PUBLIC_URL should be set.

Built with the app's own URL map (Werkzeug's `Map.bind(...).build`), so a link is whatever
route the blueprint declares, never a path written out by hand.
"""

from __future__ import annotations

import logging
import threading
from typing import Any
from urllib.parse import urlsplit

from flask import Flask, has_request_context, url_for
from werkzeug.routing import MapAdapter

log = logging.getLogger(__name__)


class PublicLinks:
    """`links(endpoint, **values)`: the absolute URL of a page of `app`."""

    def __init__(self, app: Flask) -> None:
        self.app = app
        self.public = str(app.config.get("PUBLIC_URL") or "")
        self.local = str(app.config.get("LOCAL_URL") or "http://127.0.0.1:5000")
        # Flask itself refuses a request whose host is not one of these.
        self.hosts_checked = bool(app.config.get("TRUSTED_HOSTS"))
        self._adapters: dict[str, MapAdapter] = {}
        self._lock = threading.Lock()
        self._warned = False
        if not self.public and not self.hosts_checked and not app.testing:
            self._warn()  # at start, where an operator reads it, not at the first reset mail

    def _warn(self) -> None:
        self._warned = True
        log.warning(
            "PUBLIC_URL is not set%s: links in mail point at %s. Set PUBLIC_URL to the "
            "address people reach this site at.",
            "" if self.hosts_checked else " (nor TRUSTED_HOSTS)",
            self.local,
        )

    def __call__(self, endpoint: str, **values: Any) -> str:
        if self.public:
            return self._build(self.public, endpoint, values)
        if self.hosts_checked and has_request_context():
            return url_for(endpoint, _external=True, **values)
        if not self._warned:
            self._warn()
        return self._build(self.local, endpoint, values)

    def _build(self, base: str, endpoint: str, values: dict[str, Any]) -> str:
        adapter = self._adapters.get(base)
        if adapter is None:
            with self._lock:
                parts = urlsplit(base)
                adapter = self.app.url_map.bind(
                    parts.netloc, script_name=parts.path or "/", url_scheme=parts.scheme
                )
                self._adapters[base] = adapter
        return adapter.build(endpoint, values, force_external=True)
