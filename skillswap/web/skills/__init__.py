"""The skills directory."""

from skillswap.web.skills.routes import bp

__all__ = ["bp"]
