"""Booking, cancelling and rating sessions."""

from skillswap.web.bookings.routes import bp

__all__ = ["bp"]
