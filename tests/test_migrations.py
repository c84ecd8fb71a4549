"""Schema migrations (issue 16): the revisions make exactly what the models describe, a model change
without a revision is caught, a database made before migrations is adopted, ``kia db`` answers."""

from __future__ import annotations

import io
import shutil
import textwrap
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import Column, MetaData, String, inspect, text
from sqlalchemy.engine import Engine
from sqlalchemy.exc import DBAPIError

from api.extensions import db, migrate
from engine.models import Base
from engine.ops import schema
from engine.workflow.database import make_engine


@pytest.fixture
def blank(empty_database_url: str) -> Iterator[Engine]:
    engine = make_engine(empty_database_url)
    yield engine
    engine.dispose()


def _differences(engine: Engine, metadata: MetaData = Base.metadata) -> list:
    with engine.connect() as connection:
        return schema.differences(connection, metadata)


def test_the_revisions_make_what_the_models_describe(app: Flask) -> None:
    """The suite's own database (made by ``init_database``, i.e. upgraded to head) equals the models."""
    with app.app_context():
        engine = db.engine
    with engine.connect() as connection:
        assert schema.current(connection) == schema.heads() and schema.at_head(connection)
    assert _differences(engine) == []


def test_a_model_change_without_a_revision_is_caught(blank: Engine) -> None:
    """A column added to a model but to no revision: the comparison names it."""
    schema.upgrade(blank)
    assert _differences(blank) == []
    changed = MetaData()
    for table in Base.metadata.sorted_tables:
        table.to_metadata(changed)
    changed.tables["timers"].append_column(Column("note", String(50), nullable=True))
    [difference] = _differences(blank, changed)
    assert (difference[0], difference[2], difference[3].name) == ("add_column", "timers", "note")


def test_a_revision_without_its_model_change_is_caught(blank: Engine, tmp_path: Path) -> None:
    """A throw-away revision (in a copy of ``migrations/``) adds a column no model has: caught."""
    directory = tmp_path / "migrations"
    shutil.copytree(schema.DIRECTORY, directory, ignore=shutil.ignore_patterns("__pycache__"))
    [head] = schema.heads()
    (directory / "versions" / "99999999_throwaway_add_a_column.py").write_text(
        textwrap.dedent(f'''
            """Throw-away: a column no model has."""
            import sqlalchemy as sa
            from alembic import op

            revision = "throwaway"
            down_revision = {head!r}


            def upgrade() -> None:
                op.add_column("outbox", sa.Column("priority", sa.Integer(), nullable=True))
            '''),
        encoding="utf-8",
    )
    assert schema.heads(directory) == {"throwaway"}
    schema.upgrade(blank, directory=directory)
    [difference] = _differences(blank)
    assert (difference[0], difference[2], difference[3].name) == ("remove_column", "outbox", "priority")
    assert (schema.DIRECTORY / "versions").is_dir() and schema.heads() == {head}  # the repository is unchanged


def test_an_unversioned_database_of_an_earlier_version_is_adopted_then_upgraded(blank: Engine) -> None:
    """A database that ``create_all`` made before migrations, even one older than the release (the
    replaced inbox index, no ``timers.handler``/``params``, no regions table): the upgrade adopts it,
    keeps its rows, and leaves it equal to the models."""
    schema.upgrade(blank, "baseline")
    with blank.begin() as conn:
        conn.execute(text("DROP TABLE alembic_version"))
        conn.execute(text("DROP INDEX ix_tasks_inbox_cover"))
        conn.execute(text("CREATE INDEX ix_tasks_inbox ON tasks (state, lane, kecamatan, due_at)"))
        conn.execute(text("DROP INDEX ix_regions_level"))
        conn.execute(text("DROP TABLE regions"))
        conn.execute(text("DROP INDEX ix_timers_due"))
        conn.execute(text("DROP INDEX ix_timers_instance_id"))
        conn.execute(text("ALTER TABLE timers DROP COLUMN handler"))
        conn.execute(text("ALTER TABLE timers DROP COLUMN params"))
        conn.execute(text("CREATE INDEX ix_timers_due ON timers (state, due_at)"))
        conn.execute(text("CREATE INDEX ix_timers_instance_id ON timers (instance_id)"))
        conn.execute(
            text(
                "INSERT INTO process_versions (id, process_key, version, content_hash, bpmn_xml, deployed_at) "
                "VALUES (1, 'kia_whatsapp', 1, 'h', '<x/>', '2026-11-29 06:00:00')"
            )
        )
        conn.execute(
            text(
                "INSERT INTO instances (id, process_version_id, business_key, status, state, lock_version, "
                "created_at, updated_at) VALUES (1, 1, 'K1', 'baru', :state, 1, '2026-11-29', '2026-11-29')"
            ),
            {"state": b"x"},
        )
        conn.execute(
            text(
                "INSERT INTO timers (id, instance_id, due_at, state, kind, level) "
                "VALUES ('t1', 1, '2026-11-30 01:00:00', 'waiting', 'diagram', 1)"
            )
        )
    with blank.connect() as conn:
        assert schema.current(conn) == set()
    assert schema.upgrade(blank) == []  # it had no version
    with blank.connect() as conn:
        assert schema.at_head(conn)
        assert conn.execute(text("SELECT handler, params FROM timers")).one() in ((None, "{}"), (None, {}))
        assert conn.execute(text("SELECT count(*) FROM timers")).scalar() == 1
    names = {i["name"] for i in inspect(blank).get_indexes("tasks")}
    assert "ix_tasks_inbox_cover" in names and "ix_tasks_inbox" not in names
    assert _differences(blank) == []
    assert schema.upgrade(blank) == sorted(schema.heads())  # a second upgrade changes nothing
    assert _differences(blank) == []


def test_the_audit_log_stays_append_only_after_an_upgrade(blank: Engine) -> None:
    """The triggers are part of the revisions, on SQLite and PostgreSQL."""
    schema.upgrade(blank)
    with blank.begin() as conn:
        conn.execute(
            text(
                "INSERT INTO audit_log (at, actor, action, method, path, status) "
                "VALUES ('2026-12-01 00:00:00', 'admin1', 'x', 'GET', '/', 200)"
            )
        )
    for statement in ("UPDATE audit_log SET actor = 'someone'", "DELETE FROM audit_log"):
        with pytest.raises(DBAPIError, match="append-only"), blank.begin() as conn:
            conn.execute(text(statement))
    with blank.connect() as conn:
        assert conn.execute(text("SELECT actor FROM audit_log")).scalars().all() == ["admin1"]


def test_kia_db_commands(app: Flask, monkeypatch: pytest.MonkeyPatch) -> None:
    printed = io.StringIO()

    def to_buffer(config: Any) -> Any:  # Alembic prints to the stdout it was imported with
        config.stdout = printed
        return config

    monkeypatch.setattr(migrate, "configure_callbacks", [to_buffer])
    runner = app.test_cli_runner()
    [head] = schema.heads()
    for command in (["db", "current"], ["db", "heads"]):
        result = runner.invoke(args=command)
        assert result.exit_code == 0 and f"{head} (head)" in printed.getvalue(), printed.getvalue()
        printed.seek(0)
        printed.truncate()
    result = runner.invoke(args=["db", "upgrade"])
    assert result.exit_code == 0, result.output
    result = runner.invoke(args=["init-db"])
    assert result.exit_code == 0 and "Basis data siap" in result.output, result.output


def test_kia_init_db_creates_a_new_database_at_head(app_factory, empty_database_url: str) -> None:  # noqa: ANN001
    fresh = app_factory(empty_database_url)
    result = fresh.test_cli_runner().invoke(args=["init-db"])
    assert result.exit_code == 0 and "versi 1" in result.output, result.output
    with fresh.app_context():
        with db.engine.connect() as conn:
            assert schema.at_head(conn)
        assert _differences(db.engine) == []
        db.engine.dispose()
