"""The engine's notion of "now": real time in production, a controllable clock in tests."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta


class Clock:
    """UTC clock. ``freeze``/``advance`` let tests move time without sleeping."""

    def __init__(self) -> None:
        self._frozen: datetime | None = None
        self._offset = timedelta(0)

    def now(self) -> datetime:
        if self._frozen is not None:
            return self._frozen
        return datetime.now(UTC) + self._offset

    def freeze(self, at: datetime) -> None:
        if at.tzinfo is None:
            raise ValueError("freeze() needs an aware datetime")
        self._frozen = at.astimezone(UTC)

    def advance(self, by: timedelta) -> None:
        """Move time forward: a frozen clock jumps, a running clock gains an offset."""
        if self._frozen is not None:
            self._frozen += by
        else:
            self._offset += by

    def reset(self) -> None:
        self._frozen = None
        self._offset = timedelta(0)


clock = Clock()
