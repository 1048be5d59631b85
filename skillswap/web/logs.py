"""Logs without secrets: the calendar feed's address is its password (skillswap/ics.py), and a
mailed link's token acts for its owner (a reset link sets a password), so access logs show
`/calendar/[redacted].ics` and `/reset-password/[redacted]`. Used by the development server
(main.py) and by gunicorn (gunicorn.conf.py)."""

from __future__ import annotations

import logging
import re

FEED_PATH = re.compile(r"/calendar/[^/?#\s\"]+\.ics")
REDACTED = "/calendar/[redacted].ics"
# The mailed links' routes: web/recovery, web/addresses, web/unsubscribe.
LINK_PATH = re.compile(r"(/(?:reset-password|verify-email|unsubscribe)/)[^/?#\s\"]+")


def redact(text: str) -> str:
    return LINK_PATH.sub(r"\1[redacted]", FEED_PATH.sub(REDACTED, text))


class RedactFeedTokens(logging.Filter):
    """A filter for loggers that write request lines (werkzeug's): the message is formatted
    here, then redacted."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        redacted = redact(message)
        if redacted != message:
            record.msg, record.args = redacted, None
        return True
