"""Learners for my skills, and invitations."""

from skillswap.web.learners.routes import bp

__all__ = ["bp"]
