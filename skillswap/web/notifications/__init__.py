"""Notifications."""

from skillswap.web.notifications.routes import bp

__all__ = ["bp"]
