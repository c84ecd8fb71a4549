"""Sign-in failure counters with locks that grow: PIN sign-in per application code, staff sign-in per
user name and per (user name, client).

A row of ``sign_in_guards`` per key counts the attempts not followed by a success. An attempt is counted
*before* the secret is checked (one atomic ``UPDATE .. RETURNING``, refused while the key is locked), so
parallel guesses cannot slip past the limit; a success resets the row. From the ``threshold``-th counted
attempt on, the key is locked at once (pessimistically, while the secret is being checked); a failure
then keeps it locked for ``base * 2 ** (attempts - threshold)``, capped: 1, 2, 4, 8 ... minutes. The
right secret during a lock is refused like any other (the check does not even run).

The callers decide the keys (``pin:<application id>``, ``user:<name>``, ``user:<name>@<client>``); the
client address never enters a PIN key, so more addresses buy an attacker nothing.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import case, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from engine.kia.models import SignInGuard
from engine.workflow.clock import clock


@dataclass(frozen=True)
class Policy:
    threshold: int = 5  # counted attempts before the key locks
    base: timedelta = timedelta(minutes=1)  # the first lock; each further failure doubles it
    cap: timedelta = timedelta(hours=24)

    def lock_for(self, attempts: int) -> timedelta:
        return min(self.cap, self.base * (2 ** max(0, attempts - self.threshold)))


@dataclass(frozen=True)
class Locked:
    """The key is locked until ``until``."""

    key: str
    until: datetime

    @property
    def retry_after(self) -> int:
        return max(1, math.ceil((self.until - clock.now()).total_seconds()))

    @property
    def minutes(self) -> int:
        return max(1, -(-self.retry_after // 60))


@dataclass(frozen=True)
class Attempt:
    """A counted attempt: the secret may now be checked; report the outcome with ``failed``/``succeeded``."""

    key: str
    number: int  # attempts since the last success, this one included
    policy: Policy


def pin_key(application_id: int) -> str:
    return f"pin:{application_id}"


def attempt(session: Session, key: str, policy: Policy) -> Attempt | Locked:
    """Count one attempt at ``key``, or the lock that refuses it (then nothing is counted). Flushes."""
    now = clock.now()
    insert = postgresql.insert if session.get_bind().dialect.name == "postgresql" else sqlite.insert
    session.execute(
        insert(SignInGuard)
        .values(key=key, attempts=0, locked_until=None)
        .on_conflict_do_nothing(index_elements=["key"])
    )
    provisional = now + policy.lock_for(policy.threshold)
    number = session.scalar(
        update(SignInGuard)
        .where(SignInGuard.key == key, (SignInGuard.locked_until.is_(None)) | (SignInGuard.locked_until <= now))
        .values(
            attempts=SignInGuard.attempts + 1,
            last_attempt_at=now,
            # from the threshold on, locked while this attempt's secret is checked
            locked_until=case((SignInGuard.attempts + 1 >= policy.threshold, provisional), else_=None),
        )
        .returning(SignInGuard.attempts)
    )
    if number is None:
        until = session.scalar(select(SignInGuard.locked_until).where(SignInGuard.key == key))
        return Locked(key, until or now)
    return Attempt(key, number, policy)


def failed(session: Session, counted: Attempt) -> Locked | None:
    """The secret was wrong: the lock this failure leaves (from the threshold on), else None."""
    if counted.number < counted.policy.threshold:
        return None
    until = clock.now() + counted.policy.lock_for(counted.number)
    session.execute(update(SignInGuard).where(SignInGuard.key == counted.key).values(locked_until=until))
    return Locked(counted.key, until)


def succeeded(session: Session, counted: Attempt) -> None:
    reset(session, counted.key)


def reset(session: Session, key: str) -> None:
    """Forget the failures and any lock of ``key`` (a success, a new PIN)."""
    session.execute(update(SignInGuard).where(SignInGuard.key == key).values(attempts=0, locked_until=None))


def locked(session: Session, key: str) -> Locked | None:
    """The lock on ``key`` now, without counting anything."""
    until = session.scalar(select(SignInGuard.locked_until).where(SignInGuard.key == key))
    return Locked(key, until) if until is not None and until > clock.now() else None
