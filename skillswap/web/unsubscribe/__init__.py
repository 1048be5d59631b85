"""One-click unsubscribe: the link in every optional mail, which needs no login."""

from skillswap.web.unsubscribe.routes import bp

__all__ = ["bp"]
