"""``kia backup`` and ``kia restore``: the database and the documents in one file (engine.ops.backup)."""

from __future__ import annotations

from pathlib import Path

import click
from flask import current_app
from flask.cli import with_appcontext

from engine.ops import backup

from .extensions import db


def _settings() -> tuple[str, str]:
    return current_app.config["SQLALCHEMY_DATABASE_URI"], current_app.config["DOCUMENT_DIR"]


def _size(n: int) -> str:
    return f"{n / (1024 * 1024):.1f} MB" if n >= 1024 * 1024 else f"{n / 1024:.1f} KB"


@click.command("backup")
@click.argument("file", type=click.Path(dir_okay=False, path_type=Path))
@with_appcontext
def backup_command(file: Path) -> None:
    """Write the database and the documents to FILE (a .tar.gz), while the service runs."""
    url, documents = _settings()
    try:
        summary = backup.create(url, documents, file)
    except backup.BackupError as exc:
        raise click.ClickException(exc.message) from None
    click.echo(
        f"Cadangan ditulis ke {file}: basis data {summary.database}, {summary.documents} dokumen, "
        f"{_size(summary.size_bytes)}."
    )


@click.command("restore")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--yes", is_flag=True, help="do not ask for confirmation")
@with_appcontext
def restore_command(file: Path, yes: bool) -> None:
    """Replace the database's content with the backup in FILE and add its documents (stop the service first)."""
    if not yes:
        click.confirm("Seluruh isi basis data ini akan diganti dengan isi cadangan. Lanjutkan?", abort=True)
    url, documents = _settings()
    db.session.remove()
    db.engine.dispose()  # no pooled connection of ours may hold a table the restore replaces
    try:
        summary = backup.restore(url, documents, file)
    except backup.BackupError as exc:
        # every failure comes before the database changes, or inside the restore's one transaction
        raise click.ClickException(f"{exc.message} Basis data tidak diubah.") from None
    finally:
        db.engine.dispose()
    click.echo(
        f"Dipulihkan dari cadangan {summary.created_at}: basis data {summary.database}, {summary.documents} dokumen."
    )
