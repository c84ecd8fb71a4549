"""``kia siak``: load the population records from CSV, or generate a synthetic population."""

from __future__ import annotations

import time
from pathlib import Path

import click
from flask.cli import with_appcontext

from engine.kia import population, reference, siak_import
from engine.workflow.errors import InvalidData

from .extensions import db

SHOWN_ERRORS = 50


def load_population(stream: object) -> siak_import.ImportReport:
    """Import a CSV stream into the population records and commit (the CLI and ``kia demo``)."""
    report = siak_import.import_csv(
        db.session,
        stream,
        known_regions=reference.known_region_codes(db.session),
        kecamatan=[k.code for k in reference.kecamatan_list(db.session)],
    )
    db.session.commit()
    return report


@click.group("siak")
def siak_group() -> None:
    """Population records (the local SIAK copy the verification compares against)."""


@siak_group.command("import")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@with_appcontext
def import_command(file: Path) -> None:
    """Load FILE.csv (one person per row, upserted by NIK); bad rows are skipped and listed by line."""
    started = time.perf_counter()
    try:
        with file.open(encoding="utf-8-sig", newline="") as stream:
            report = load_population(stream)
    except InvalidData as exc:
        raise click.ClickException(f"{exc.message} {' '.join(exc.fields.get('header', []))}") from None
    except UnicodeDecodeError:
        raise click.ClickException("Berkas CSV harus ber-encoding UTF-8.") from None
    seconds = time.perf_counter() - started
    for error in report.errors[:SHOWN_ERRORS]:
        click.echo(f"  baris {error.line}: {' '.join(error.messages)}", err=True)
    if len(report.errors) > SHOWN_ERRORS:
        click.echo(f"  ... dan {len(report.errors) - SHOWN_ERRORS} baris lain ditolak.", err=True)
    click.echo(
        f"{report.imported} data dimuat, {len(report.errors)} baris ditolak, dari {report.read} baris "
        f"({seconds:.1f} detik)."
    )
    if report.errors and not report.imported:
        raise SystemExit(1)


@siak_group.command("generate")
@click.option("--families", type=click.IntRange(1, 1_000_000), default=1000, show_default=True)
@click.option("--seed", type=int, default=2026, show_default=True)
@click.argument("file", type=click.Path(dir_okay=False, path_type=Path))
def generate_command(families: int, seed: int, file: Path) -> None:
    """Write a synthetic population of Pekanbaru families to FILE.csv (nobody in it is real)."""
    with file.open("w", encoding="utf-8", newline="") as stream:
        count = population.write_csv(stream, population.generate(families, seed))
    click.echo(f"{count} orang dari {families} keluarga ditulis ke {file}.")
