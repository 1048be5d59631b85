"""Absolute links to the site, for mails and calendars, with or without a request.

From PUBLIC_URL when it is set: the one address people reach the site at, the same in a page
and in a reminder a background sender mails with no request at all. Else from the request
being answered (its host is one TRUSTED_HOSTS allows). Else, a sender with neither, from
LOCAL_URL, with a warning that PUBLIC_URL should be set.

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
        self._adapters: dict[str, MapAdapter] = {}
        self._lock = threading.Lock()
        self._warned = False

    def __call__(self, endpoint: str, **values: Any) -> str:
        if self.public:
            return self._build(self.public, endpoint, values)
        if has_request_context():
            return url_for(endpoint, _external=True, **values)
        if not self._warned:
            self._warned = True
            log.warning(
                "PUBLIC_URL is not set: links in mail sent outside a request (reminders) "
                "point at %s. Set PUBLIC_URL to the address people reach this site at.",
                self.local,
            )
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
