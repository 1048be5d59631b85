"""Calendar files and the private subscription feed."""

from skillswap.web.feeds.routes import bp

__all__ = ["bp"]
