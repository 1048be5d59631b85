"""The landing page and its search."""

from skillswap.web.pages.routes import bp

__all__ = ["bp"]
