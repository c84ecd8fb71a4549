"""Database connections for the engine when it runs without Flask (scripts, the scheduler, tests)."""

from __future__ import annotations

import json
from typing import Any

from sqlalchemy import JSON, Table, create_engine, event, insert
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session, sessionmaker


def engine_options(url: str) -> dict[str, Any]:
    """Options that make each database behave: SQLite waits for locks instead of failing at once.
    Statement parameters (NIKs, names, phone numbers) are kept out of SQL logging and of database errors'
    messages (``hide_parameters``), whoever turns the ``sqlalchemy.engine`` log on."""
    if url.startswith("sqlite"):
        return {"connect_args": {"timeout": 30, "check_same_thread": False}, "hide_parameters": True}
    return {"pool_pre_ping": True, "hide_parameters": True}


def configure_sqlite(engine: Engine) -> None:
    """WAL journal, foreign keys and a busy timeout on every SQLite connection.

    Transactions start with ``BEGIN IMMEDIATE``: SQLite allows one writer at a time, and a transaction
    that read first and writes later would otherwise fail at once ("database is locked") whenever another
    writer committed in between, even on an unrelated application. Readers are never blocked (WAL)."""
    if engine.dialect.name != "sqlite":
        return

    @event.listens_for(engine, "begin")
    def _begin(connection: Any) -> None:
        connection.exec_driver_sql("BEGIN IMMEDIATE")

    @event.listens_for(engine, "connect")
    def _pragmas(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.isolation_level = None  # let the "begin" hook issue BEGIN
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA busy_timeout=30000")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.close()


def make_engine(url: str) -> Engine:
    engine = create_engine(url, **engine_options(url))
    configure_sqlite(engine)
    return engine


def make_session_factory(url: str) -> sessionmaker[Session]:
    return sessionmaker(bind=make_engine(url), expire_on_commit=False)


def insert_rows(session: Session, table: Table, rows: list[dict[str, Any]]) -> None:
    """Insert many rows at once, in the session's transaction.

    Set-based work such as recording thousands of escalations at once then spends its time in the
    database rather than in round trips: on PostgreSQL the rows are streamed with ``COPY`` (psycopg's
    ``executemany`` would send a statement per row); SQLite's ``executemany`` runs in-process and is fast
    as it is. Every row must have the same keys; JSON columns take dicts, datetimes must be aware."""
    if not rows:
        return
    if session.get_bind().dialect.name != "postgresql":
        session.execute(insert(table), rows)
        return
    given = list(rows[0])
    # COPY leaves out the model's Python-side defaults (``default=...``): supply them as INSERT would
    defaults: dict[str, Any] = {
        c.name: c.default for c in table.columns if c.name not in given and c.default is not None and not c.primary_key
    }
    columns = given + list(defaults)
    as_json = [isinstance(table.c[name].type, JSON) for name in columns]
    cursor = session.connection().connection.driver_connection.cursor()  # type: ignore[union-attr]
    names = ", ".join(f'"{name}"' for name in columns)
    with cursor.copy(f'COPY "{table.name}" ({names}) FROM STDIN') as copy:
        for row in rows:
            values = [row[name] for name in given] + [
                d.arg(None) if d.is_callable else d.arg for d in defaults.values()
            ]
            copy.write_row(
                [json.dumps(v) if encode and v is not None else v for v, encode in zip(values, as_json, strict=True)]
            )
