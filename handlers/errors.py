"""Errors of the delivery integrations (WhatsApp gateway, SMTP)."""

from __future__ import annotations


class SendError(Exception):
    """A call to an outside service failed. ``reason`` names a status or exception type, never personal
    data; ``retryable`` is False when trying again cannot help (the request itself is wrong)."""

    def __init__(self, reason: str, retryable: bool = True, code: int | None = None) -> None:
        super().__init__(reason)
        self.reason = reason
        self.retryable = retryable
        self.code = code  # the provider's error code (WhatsApp: 131047, 131026, ...), when it gave one
