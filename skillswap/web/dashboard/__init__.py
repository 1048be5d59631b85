"""The dashboard and the history page."""

from skillswap.web.dashboard.routes import bp

__all__ = ["bp"]
