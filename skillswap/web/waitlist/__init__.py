"""Joining and leaving teachers' waitlists."""

from skillswap.web.waitlist.routes import bp

__all__ = ["bp"]
