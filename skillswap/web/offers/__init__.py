"""Teaching offers."""

from skillswap.web.offers.routes import bp

__all__ = ["bp"]
