"""The calendar: month and week views."""

from skillswap.web.calendar.routes import bp

__all__ = ["bp"]
