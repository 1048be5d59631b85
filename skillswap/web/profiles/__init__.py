"""Profiles: your own, editable, and other people's."""

from skillswap.web.profiles.routes import bp

__all__ = ["bp"]
