"""Booking, cancelling, moving and rating sessions."""

from skillswap.web.bookings import reschedule  # noqa: F401 (its routes join the blueprint)
from skillswap.web.bookings.routes import bp

__all__ = ["bp"]
