"""The User record and the rules about names, passwords and links. Pure: no Flask, no I/O."""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass, field
from typing import Any
from urllib.parse import urlsplit

from skillswap.domain.text import text_problem

USERNAME_RE = re.compile(r"[a-z0-9_-]{3,30}")
PASSWORD_MIN, PASSWORD_MAX = 8, 128
MAX_BIO = 1000


def username_problem(name: str) -> str | None:
    if not 3 <= len(name) <= 30:
        return "Use 3 to 30 characters"
    if not USERNAME_RE.fullmatch(name.lower()):
        return "Use only letters a–z, digits, _ and -"
    return None


def link_problem(url: str) -> str | None:
    """Only absolute http/https links: javascript:, data: and friends would run in the viewer."""
    parts = urlsplit(url.strip())
    if parts.scheme.lower() not in {"http", "https"}:
        return "Links must start with http:// or https://"
    if not parts.netloc or " " in url.strip():
        return "Enter a full address, like https://github.com/you"
    return text_problem(url)


def split_tags(text: str) -> list[str]:
    """Tags as typed, split on commas or new lines, blanks and case-insensitive repeats dropped."""
    seen: set[str] = set()
    tags: list[str] = []
    for raw in re.split(r"[,\n]", text):
        tag = " ".join(raw.split())
        if tag and tag.casefold() not in seen:
            seen.add(tag.casefold())
            tags.append(tag)
    return tags


@dataclass
class User:
    id: str
    username: str
    email: str
    password_hash: str
    timezone: str = "UTC"
    display_name: str = ""
    bio: str = ""
    teach: list[str] = field(default_factory=list)
    learn: list[str] = field(default_factory=list)
    links: list[str] = field(default_factory=list)
    created: str = ""
    # Bumped by password change and "log out everywhere": old session cookies stop working.
    session_version: int = 1
    # Active logins, newest first, bounded (skillswap/domain/logins.py): a session cookie
    # names one, and opens nothing once it is gone from here.
    logins: list[dict] = field(default_factory=list)
    unread: int = 0  # notifications not yet seen (the list lives in the schedule document)
    # Calendar feed: the secret's SHA-256 and the random nonce it is derived from (see ics.py).
    feed_token_hash: str = ""
    feed_nonce: str = ""

    @property
    def name(self) -> str:
        return self.display_name or self.username

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> User:
        known = cls.__dataclass_fields__
        if data.keys() <= known.keys():
            return cls(**data)  # the usual record, read on every request: nothing to drop
        # Written by another version: drop the fields this one does not know.
        return cls(**{k: v for k, v in data.items() if k in known})
