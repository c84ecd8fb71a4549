"""The engine's notion of "now": real time in production, a controllable clock in tests."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta


class Clock:
    """UTC clock. ``freeze``/``advance`` let tests move time without sleeping.

    ``start_offset`` (``KIA_CLOCK_OFFSET``) makes the clock run that far from the system clock, also
    after ``reset``: the test suite runs every process on one fixed calendar date whatever the year."""

    def __init__(self) -> None:
        self._frozen: datetime | None = None
        self._base = timedelta(0)
        self._offset = timedelta(0)

    @property
    def start_offset(self) -> timedelta:
        return self._base

    @start_offset.setter
    def start_offset(self, offset: timedelta) -> None:
        self._offset += offset - self._base
        self._base = offset

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

    def to_system(self, at: datetime) -> datetime:
        """The system-clock instant at which this clock shows ``at``, for schedulers that sleep on the
        system clock (APScheduler); a frozen clock never gets there by itself, so ``at`` unchanged."""
        return at if self._frozen is not None else at - self._offset

    def reset(self) -> None:
        """Running again, at the system clock plus ``start_offset``."""
        self._frozen = None
        self._offset = self._base


clock = Clock()
