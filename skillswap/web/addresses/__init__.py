"""Email ownership: confirming an address, and changing the account's address on /account."""

from skillswap.web.addresses.routes import bp

__all__ = ["bp"]
