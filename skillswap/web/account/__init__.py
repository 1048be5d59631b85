"""Your account: password, logins, deletion."""

from skillswap.web.account.routes import bp

__all__ = ["bp"]
