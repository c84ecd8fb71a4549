"""The database schema's version: Alembic revisions (``migrations/``) run without Flask.

``kia db upgrade`` (Flask-Migrate) and :func:`upgrade` run the same revisions. A database made before
migrations existed (``create_all``, no ``alembic_version`` table) is adopted by the baseline revision,
which keeps what the database has and adds what it lacks, then upgraded like any other. :func:`differences`
compares the models with a database (Alembic's autogenerate): CI fails when a model change has no
revision.
"""

from __future__ import annotations

import functools
import logging
from pathlib import Path
from typing import Any

from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.config import Config
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import inspect
from sqlalchemy.engine import Connection, Engine

import migrations
from engine.models import Base

DIRECTORY = Path(migrations.__file__).resolve().parent
BASELINE = "baseline"
VERSION_TABLE = "alembic_version"

log = logging.getLogger(__name__)


def config(connection: Connection | None = None, directory: Path = DIRECTORY) -> Config:
    """Alembic's configuration for the revisions in ``directory``, running on ``connection``."""
    cfg = Config(str(directory / "alembic.ini"))
    cfg.set_main_option("script_location", str(directory))
    cfg.attributes["connection"] = connection
    return cfg


def heads(directory: Path = DIRECTORY) -> set[str]:
    """The newest revisions (one, unless two changes were merged without re-pointing one of them)."""
    return set(_heads(directory))


@functools.cache
def _heads(directory: Path) -> frozenset[str]:
    # read once per process: a readiness probe asks often, and the revision files change only with a release
    return frozenset(ScriptDirectory.from_config(config(directory=directory)).get_heads())


def current(connection: Connection) -> set[str]:
    """The revisions the database is at (empty: never migrated)."""
    return set(MigrationContext.configure(connection).get_current_heads())


def at_head(connection: Connection) -> bool:
    """Whether the database has every revision (what a readiness check asks)."""
    return current(connection) == heads()


def upgrade(engine: Engine, revision: str = "heads", directory: Path = DIRECTORY) -> list[str]:
    """Bring the database to ``revision``; the revisions it was at before (empty: new or unversioned).

    One transaction on PostgreSQL (DDL is transactional there): a failing revision leaves the database
    as it was."""
    with engine.begin() as connection:
        before = current(connection)
        if not before and inspect(connection).get_table_names():
            log.info("database without a schema version: adopted by the baseline revision")
        command.upgrade(config(connection, directory), revision)
    return sorted(before)


def differences(connection: Connection, metadata: Any = Base.metadata) -> list[Any]:
    """What the models have and the database lacks, or the other way round (Alembic's autogenerate
    comparison: tables, columns, types, nullability, indexes, unique and foreign keys)."""
    context = MigrationContext.configure(connection, opts={"compare_type": True})
    return list(compare_metadata(context, metadata))
