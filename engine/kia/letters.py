"""Letter numbers ("nomor surat") of the papers the office signs: the distribution recap, the report of
documents sent and the hand-over receipt.

A paper gets its number the first time it is printed and keeps it on every reprint (``Letter.subject``
names the paper: e.g. one batch's recap for one kecamatan). Numbers count per year (Asia/Jakarta) from 1;
the counter is one ``letter_sequences`` row per year, moved on by one ``UPDATE ... RETURNING`` that holds
the row's lock until the transaction ends (PostgreSQL) or takes the database's write lock (SQLite), so
two papers never share a number; the unique (year, seq) constraint makes sure of it. Two first prints of
the same paper at once: the loser's insert fails on ``subject`` and it reads the winner's number.

The format is the office's (``KIA_LETTER_NUMBER_FORMAT``), a Python format string with ``{seq}``,
``{year}``, ``{month}`` and ``{roman_month}``; the formatted number is stored, so a later change of format
leaves the numbers already given as they were printed.
"""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

from sqlalchemy import select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from engine.kia.models import Letter, LetterSequence
from engine.workflow.clock import clock

JAKARTA = ZoneInfo("Asia/Jakarta")
DEFAULT_FORMAT = "470/{seq:03d}/Disdukcapil/{roman_month}/{year}"
ROMAN_MONTHS = ("I", "II", "III", "IV", "V", "VI", "VII", "VIII", "IX", "X", "XI", "XII")


class LetterFormatError(ValueError):
    """A letter number format the service cannot use (checked at start-up)."""


def format_number(template: str, seq: int, at: datetime) -> str:
    local = at.astimezone(JAKARTA)
    return template.format(seq=seq, year=local.year, month=local.month, roman_month=ROMAN_MONTHS[local.month - 1])


def check_format(template: str) -> str:
    """``template`` if it formats and tells numbers apart by ``{seq}``; else LetterFormatError."""
    if "{seq" not in template:
        raise LetterFormatError("KIA_LETTER_NUMBER_FORMAT must contain {seq} (e.g. {seq:03d})")
    sample = datetime(2026, 1, 1, tzinfo=JAKARTA)
    try:
        first, second = format_number(template, 1, sample), format_number(template, 2, sample)
    except (KeyError, IndexError, ValueError) as exc:
        raise LetterFormatError(f"KIA_LETTER_NUMBER_FORMAT cannot be used: {exc}") from None
    if first == second or len(first) > 100:
        raise LetterFormatError("KIA_LETTER_NUMBER_FORMAT must give each {seq} its own number (at most 100 characters)")
    return template


_format = DEFAULT_FORMAT


def configure(template: str) -> None:
    global _format
    _format = check_format(template)


def _next_seq(session: Session, year: int) -> int:
    """The next number of ``year``, counted under the counter row's lock (held to the end of the caller's
    transaction)."""
    bump = (
        update(LetterSequence)
        .where(LetterSequence.year == year)
        .values(last=LetterSequence.last + 1)
        .returning(LetterSequence.last)
    )
    seq = session.execute(bump).scalar()
    if seq is None:  # the year's first paper: make its counter (a concurrent first one may win the insert)
        dialect = postgresql if session.get_bind().dialect.name == "postgresql" else sqlite
        session.execute(dialect.insert(LetterSequence).values(year=year, last=0).on_conflict_do_nothing())
        seq = session.execute(bump).scalar_one()
    return int(seq)


def letter_number(session: Session, subject: str, actor: str) -> Letter:
    """The letter of the paper ``subject``: the one it got when first printed, or a new number now.
    The caller commits (the counter's lock is held until then)."""
    found = session.scalar(select(Letter).where(Letter.subject == subject))
    if found is not None:
        return found
    now = clock.now()
    year = now.astimezone(JAKARTA).year
    try:
        with session.begin_nested():
            seq = _next_seq(session, year)
            letter = Letter(
                subject=subject,
                year=year,
                seq=seq,
                number=format_number(_format, seq, now),
                issued_at=now,
                issued_by=actor,
            )
            session.add(letter)
            session.flush()
    except IntegrityError:  # the same paper numbered at the same moment by another request
        return session.scalars(select(Letter).where(Letter.subject == subject)).one()
    return letter
