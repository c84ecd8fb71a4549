"""Collects the page modules onto one blueprint."""

from . import accounts, batches, notices, owner, public, staff, supervisor  # noqa: F401  (registers the routes)
from .blueprint import blp, unknown_address

__all__ = ["blp", "unknown_address"]
