"""Learning requests and their matches."""

from skillswap.web.requests.routes import bp

__all__ = ["bp"]
