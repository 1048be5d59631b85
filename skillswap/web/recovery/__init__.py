"""Getting back in: "Forgot password?" and the reset link it mails."""

from skillswap.web.recovery.routes import bp

__all__ = ["bp"]
