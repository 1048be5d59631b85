"""Active logins: each login has an id, kept in its session cookie and in a bounded list on the
user record, so one login can be ended on its own and a copied cookie dies with it. Pure: no
Flask, no I/O.

Stored on the user record as a list, newest first, of {"id", "device", "created", "seen"}:
`device` is a short label worked out from the User-Agent (never the header itself), `seen`
is refreshed at most every SEEN_EVERY, so a page view costs no write.
"""

from __future__ import annotations

import re
from datetime import datetime, timedelta

from skillswap.domain.times import iso_utc, parse_iso_utc

MAX_LOGINS = 10  # a phone, a laptop, a work computer... the oldest is dropped beyond this
SEEN_EVERY = timedelta(hours=1)
LOGIN_ID = re.compile(r"[0-9a-f]{32}")

# First match wins: Edge and Opera say "Chrome" too, and Chrome says "Safari".
_BROWSERS = [
    ("Edg", "Edge"),
    ("OPR/", "Opera"),
    ("Firefox/", "Firefox"),
    ("FxiOS/", "Firefox"),
    ("CriOS/", "Chrome"),
    ("Chrome/", "Chrome"),
    ("Safari/", "Safari"),
]
_SYSTEMS = [
    ("iPhone", "iPhone"),
    ("iPad", "iPad"),
    ("Android", "Android"),
    ("Windows", "Windows"),
    ("CrOS", "ChromeOS"),
    ("Macintosh", "Mac"),
    ("Linux", "Linux"),
]


def device_summary(user_agent: str) -> str:
    """ "Firefox on Windows", from the User-Agent, as fixed labels only (the header is the
    client's word and is never shown or stored as sent)."""
    browser = next((name for mark, name in _BROWSERS if mark in user_agent), "")
    system = next((name for mark, name in _SYSTEMS if mark in user_agent), "")
    if browser and system:
        return f"{browser} on {system}"
    return browser or system or "An unknown browser"


def add_login(logins: list[dict], login_id: str, device: str, now: datetime) -> list[dict]:
    """The list with this login first; the least recently seen beyond MAX_LOGINS dropped."""
    stamp = iso_utc(now)
    entry = {"id": login_id, "device": device, "created": stamp, "seen": stamp}
    kept = sorted(logins, key=lambda login: login.get("seen", ""), reverse=True)
    return [entry, *kept[: MAX_LOGINS - 1]]


def without_login(logins: list[dict], login_id: str) -> list[dict]:
    return [login for login in logins if login.get("id") != login_id]


def find_login(logins: list[dict], login_id: str) -> dict | None:
    return next((login for login in logins if login.get("id") == login_id), None)


def needs_seen_update(login: dict, now: datetime) -> bool:
    seen = login.get("seen")
    return not seen or now - parse_iso_utc(seen) >= SEEN_EVERY


def mark_seen(logins: list[dict], login_id: str, now: datetime) -> list[dict]:
    stamp = iso_utc(now)
    return [{**login, "seen": stamp} if login.get("id") == login_id else login for login in logins]
