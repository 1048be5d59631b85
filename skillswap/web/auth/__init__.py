"""Sign up, log in, log out; rate limits and the device cookie."""

from skillswap.web.auth.routes import bp

__all__ = ["bp"]
