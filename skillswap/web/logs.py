"""Logs without secrets: the calendar feed's address is its password (skillswap/ics.py), so
access logs show `/calendar/[redacted].ics`. Used by the development server (main.py) and by
gunicorn (gunicorn.conf.py)."""

from __future__ import annotations

import logging
import re

FEED_PATH = re.compile(r"/calendar/[^/?#\s\"]+\.ics")
REDACTED = "/calendar/[redacted].ics"


def redact(text: str) -> str:
    return FEED_PATH.sub(REDACTED, text)


class RedactFeedTokens(logging.Filter):
    """A filter for loggers that write request lines (werkzeug's): the message is formatted
    here, then redacted."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        redacted = redact(message)
        if redacted != message:
            record.msg, record.args = redacted, None
        return True
