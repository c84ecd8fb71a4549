"""Alembic's environment: the models' metadata, and a connection from the caller or the Flask app.

``engine.ops.schema`` passes its own connection (``config.attributes["connection"]``); ``kia db ...``
(Flask-Migrate) runs inside the app, whose engine is used. SQLite alters tables in batch mode (copy and
move), since it cannot drop or change a column in place."""

from __future__ import annotations

import logging
from typing import Any

from alembic import context

from engine.models import Base

config = context.config
log = logging.getLogger("alembic.env")


def _flask_engine() -> Any:
    from flask import current_app

    return current_app.extensions["migrate"].db.engine


def _skip_empty_autogenerate(ctx: Any, revision: Any, directives: list) -> None:
    """`kia db migrate` with no change writes no empty revision."""
    if getattr(config.cmd_opts, "autogenerate", False) and directives[0].upgrade_ops.is_empty():
        directives[:] = []
        log.info("No changes in schema detected.")


def _run(connection: Any) -> None:
    context.configure(
        connection=connection,
        target_metadata=Base.metadata,
        compare_type=True,
        render_as_batch=connection.dialect.name == "sqlite",
        process_revision_directives=_skip_empty_autogenerate,
    )
    with context.begin_transaction():
        context.run_migrations()


def run_online() -> None:
    connection = config.attributes.get("connection")
    if connection is not None:
        _run(connection)
        return
    with _flask_engine().connect() as connection:
        _run(connection)


def run_offline() -> None:
    """`kia db upgrade --sql`: the statements as a script, for a DBA to review or run."""
    url = _flask_engine().url.render_as_string(hide_password=False)
    context.configure(url=url, target_metadata=Base.metadata, literal_binds=True, compare_type=True)
    with context.begin_transaction():
        context.run_migrations()


if context.is_offline_mode():
    run_offline()
else:
    run_online()
