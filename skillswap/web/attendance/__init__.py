"""Did it happen: marking a past session, and declining an invitation."""

from skillswap.web.attendance.routes import bp

__all__ = ["bp"]
