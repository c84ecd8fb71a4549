"""``kia reference``: region codes and Pekanbaru's kecamatan with their UPTD (as the supervisor's API)."""

from __future__ import annotations

import click
from flask.cli import with_appcontext

from engine.kia import reference
from engine.workflow.errors import InvalidData

from .extensions import db


def _fail(exc: InvalidData) -> click.ClickException:
    details = "; ".join(f"{field}: {' '.join(messages)}" for field, messages in exc.fields.items())
    return click.ClickException(f"{exc.message} {details}".strip())


@click.group("reference")
def reference_group() -> None:
    """Reference data: region codes, kecamatan and UPTD."""


@reference_group.command("regions")
@click.option("--level", type=click.Choice(reference.LEVELS), default=None)
@click.option("--parent", default=None, help="only the codes under this one, e.g. 14")
@with_appcontext
def regions(level: str | None, parent: str | None) -> None:
    """List region codes."""
    for row in reference.regions(db.session, level, parent):
        click.echo(f"{row.code:<10} {row.level:<9} {row.name}")


@reference_group.command("set-region")
@click.argument("code")
@click.argument("name")
@with_appcontext
def set_region(code: str, name: str) -> None:
    """Add or rename the region CODE (e.g. 14.72 "Kota Baru")."""
    try:
        row, created = reference.set_region(db.session, code, name)
    except InvalidData as exc:
        raise _fail(exc) from None
    db.session.commit()
    click.echo(f"{row.code} ({row.level}) {'ditambahkan' if created else 'diubah'}: {row.name}")


@reference_group.command("kecamatan")
@with_appcontext
def kecamatan() -> None:
    """List Pekanbaru's kecamatan and their UPTD."""
    for row in reference.kecamatan_list(db.session):
        click.echo(f"{row.code}  {row.name:<16} {row.uptd_name} | {row.uptd_address} | {row.uptd_head or '-'}")


@reference_group.command("set-kecamatan")
@click.argument("code")
@click.option("--name", default=None)
@click.option("--uptd-name", default=None)
@click.option("--uptd-address", default=None)
@click.option("--uptd-head", default=None, help="name of the Ka. UPTD")
@click.option("--uptd-head-nip", default=None, help="NIP of the Ka. UPTD (18 digits)")
@click.option("--uptd-hours", default=None, help="opening hours of the UPTD")
@with_appcontext
def set_kecamatan(
    code: str,
    name: str | None,
    uptd_name: str | None,
    uptd_address: str | None,
    uptd_head: str | None,
    uptd_head_nip: str | None,
    uptd_hours: str | None,
) -> None:
    """Add a kecamatan or change its name and UPTD."""
    change = reference.KecamatanChange(name, uptd_name, uptd_address, uptd_head, uptd_head_nip, uptd_hours)
    try:
        row, created = reference.set_kecamatan(db.session, code, change)
    except InvalidData as exc:
        raise _fail(exc) from None
    db.session.commit()
    click.echo(
        f"{row.code} {row.name} {'ditambahkan' if created else 'diubah'}: {row.uptd_name}, "
        f"{row.uptd_address}, kepala: {row.uptd_head or '-'}"
    )
