"""The ``kia`` command: serve, scheduler, users, deploy, demo, init-db, backup, restore, cleanup."""

from __future__ import annotations

import io
import os
import sys
from datetime import datetime
from pathlib import Path

import click
from flask import Flask, current_app
from flask.cli import FlaskGroup, with_appcontext
from marshmallow import ValidationError
from sqlalchemy import select

from engine.kia import people
from engine.kia.applications import PROCESS_KEY
from engine.models import PopulationRecord
from engine.workflow import deadlines, worktime
from engine.workflow.errors import DiagramRejected, EngineError, InvalidData, NotFound

from . import diagrams
from .extensions import db
from .provisioning import add_user, deactivate_user, init_database

DEMO_USERS = [
    ("admin", "Admin KIA WhatsApp", ["admin"], None),
    ("operator", "Petugas Penerbitan KIA", ["operator"], None),
    ("dafdud", "Staf Bidang Dafdud", ["dafdud"], None),
    ("uptd.binawidya", "Ka. UPTD Binawidya", ["uptd"], "14.71.08"),
    ("uptd.sukajadi", "Ka. UPTD Sukajadi", ["uptd"], "14.71.01"),
    ("pemilik", "Pemilik Proses", ["owner"], None),
    ("supervisor", "Supervisor Layanan", ["supervisor"], None),
]
DEMO_PASSWORD = "demo-kia-2026"
DEMO_FAMILIES = 200  # the synthetic population `kia demo` loads


def register(app: Flask) -> None:
    from .cleanup import cleanup_command
    from .cli_backup import backup_command, restore_command
    from .cli_reference import reference_group
    from .cli_siak import siak_group
    from .simulator import whatsapp

    for command in (
        init_db,
        serve,
        scheduler,
        deploy,
        activate,
        migrate_applications,
        demo,
        users,
        calendar,
        whatsapp,
        reference_group,
        siak_group,
        backup_command,
        restore_command,
        cleanup_command,
    ):
        app.cli.add_command(command)


@click.command("init-db")
@with_appcontext
def init_db() -> None:
    """Create the schema, seed reference data and deploy the bundled diagram."""
    version = init_database(current_app.config["KIA_BUNDLED_DIAGRAM"])
    click.echo(f"Basis data siap; proses {version.process_key} versi {version.version}." if version else "Siap.")


@click.command("serve")
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=5000, show_default=True, type=int)
@click.option(
    "--workers", default=lambda: int(os.environ.get("WEB_CONCURRENCY") or 2), show_default="2", type=click.IntRange(1)
)
@click.option("--scheduler/--no-scheduler", "with_scheduler", default=True, show_default=True)
@with_appcontext
def serve(host: str, port: int, workers: int, with_scheduler: bool) -> None:
    """Run the service on gunicorn (sync workers) with one scheduler process beside it."""
    from . import serve as serving

    app = current_app._get_current_object()  # type: ignore[attr-defined]
    init_database(app.config["KIA_BUNDLED_DIAGRAM"])
    db.session.remove()  # no transaction of this process may hold the database while the children run
    db.engine.dispose()
    plan = serving.Plan(
        host,
        port,
        workers,
        scheduler=with_scheduler and app.config["KIA_SCHEDULER"],
        metrics_dir=serving.metrics_dir(app.instance_path) if app.config["KIA_METRICS"] else None,
    )
    sys.exit(serving.run(plan, click.echo))


@click.command("scheduler")
@with_appcontext
def scheduler() -> None:
    """Run only the scheduler (timers, deliveries), for deployments with several web workers."""
    from .scheduler import run_forever

    run_forever(current_app._get_current_object())  # type: ignore[attr-defined]


@click.command("deploy")
@click.argument("file", type=click.Path(exists=True, dir_okay=False))
@click.option("--note", required=True, help="the change note: what changed and why (shown in the versions list)")
@click.option(
    "--form", "form_files", multiple=True, type=click.Path(exists=True, dir_okay=False), help="a form-js form (JSON)"
)
@click.option(
    "--decision", "decision_files", multiple=True, type=click.Path(exists=True, dir_okay=False), help="a DMN table"
)
@with_appcontext
def deploy(file: str, note: str, form_files: tuple[str, ...], decision_files: tuple[str, ...]) -> None:
    """Lint and deploy a BPMN file with its forms and decision tables as the next version, which new
    applications then start on."""
    if not note.strip():
        raise click.BadParameter("catatan perubahan wajib diisi", param_hint="--note")
    try:
        files = diagrams.read_files([Path(f) for f in form_files], [Path(d) for d in decision_files])
        xml = Path(file).read_bytes()
        version, created = diagrams.deploy(db.session, xml, "cli", files, note=note.strip())
    except DiagramRejected as exc:
        for problem in exc.problems:
            click.echo(f"  {problem.element_id or '-'}: {problem.message}", err=True)
        raise click.ClickException("Diagram ditolak; versi yang berjalan tidak berubah.") from None
    db.session.commit()
    state = "di-deploy sebagai" if created else "sudah ada sebagai"
    click.echo(f"{version.process_key} {state} versi {version.version} ({version.content_hash[:12]})")


@click.command("activate")
@click.argument("version", type=int)
@click.option("--reason", required=True, help="why this version becomes the one new applications start on")
@click.option("--process", "process_key", default=PROCESS_KEY, show_default=True)
@with_appcontext
def activate(version: int, reason: str, process_key: str) -> None:
    """Roll back (or forward): new applications start on VERSION from now on."""
    from engine.workflow import versions

    try:
        _, previous = versions.activate(db.session, process_key, version, reason, "cli")
    except (InvalidData, NotFound) as exc:
        raise click.ClickException(exc.message) from None
    db.session.commit()
    click.echo(f"{process_key}: versi {version} aktif (sebelumnya versi {previous.version})")


@click.command("migrate-applications")
@click.option("--from", "from_version", type=int, required=True, help="the version they run on")
@click.option("--to", "to_version", type=int, required=True, help="the version to move them to")
@click.option("--code", "codes", multiple=True, help="an application code (repeatable); default: every running one")
@click.option("--execute", is_flag=True, help="move them (without it: a dry run that changes nothing)")
@click.option("--process", "process_key", default=PROCESS_KEY, show_default=True)
@with_appcontext
def migrate_applications(
    from_version: int, to_version: int, codes: tuple[str, ...], execute: bool, process_key: str
) -> None:
    """Move running applications to another version, deadlines kept (one transaction each); for runs
    too long for one HTTP request. Prints one line per application."""
    from engine.workflow import migration

    try:
        plan = migration.plan(db.session, process_key, from_version, to_version)
    except (InvalidData, NotFound) as exc:
        raise click.ClickException(exc.message) from None

    def say(outcome: migration.Outcome) -> None:
        state = "dipindahkan" if outcome.moved else ("dapat dipindahkan" if outcome.movable else "tetap")
        click.echo(f"{outcome.business_key}\t{state}\t{outcome.reason or ''}")

    outcomes = migration.migrate(
        db.session, plan, list(codes) or None, actor="cli", dry_run=not execute, on_outcome=say
    )
    db.session.rollback()
    done = sum(o.moved for o in outcomes) if execute else sum(o.movable for o in outcomes)
    verb = "dipindahkan" if execute else "dapat dipindahkan (uji coba)"
    click.echo(f"{done} dari {len(outcomes)} permohonan {verb} ke versi {to_version}")


@click.command("demo")
@with_appcontext
def demo() -> None:
    """Create demo staff accounts and a small synthetic population for a local trial."""
    from engine.kia import population

    from .cli_siak import load_population

    init_database(current_app.config["KIA_BUNDLED_DIAGRAM"])
    click.echo(f"Akun demo (kata sandi semuanya: {DEMO_PASSWORD}):")
    for username, name, roles, kecamatan in DEMO_USERS:
        add_user(username, DEMO_PASSWORD, roles, name, kecamatan)
        click.echo(f"  {username:<16} {','.join(roles):<12} {kecamatan or ''}")
    if db.session.scalar(select(PopulationRecord.nik).limit(1)) is not None:
        click.echo("Data kependudukan sudah ada; tidak dimuat ulang.")
        return
    stream = io.StringIO()
    population.write_csv(stream, [*population.DEMO_FAMILY, *population.generate(DEMO_FAMILIES)])
    stream.seek(0)
    report = load_population(stream)
    click.echo(f"Data kependudukan contoh: {report.imported} orang (termasuk keluarga pada contoh README).")


@click.group("users")
def users() -> None:
    """Manage staff accounts."""


@users.command("add")
@click.argument("username")
@click.option(
    "--role",
    "roles",
    multiple=True,
    required=True,
    help="a lane of a deployed diagram (bundled: admin, operator, dafdud, uptd), owner or supervisor (repeatable)",
)
@click.option(
    "--kecamatan", default=None, help="Kemendagri code, required for a lane scoped by kecamatan (uptd), e.g. 14.71.08"
)
@click.option("--full-name", default="")
@click.option("--password-stdin", is_flag=True, help="read the password from standard input")
@with_appcontext
def users_add(
    username: str, roles: tuple[str, ...], kecamatan: str | None, full_name: str, password_stdin: bool
) -> None:
    """Add a staff user (or reset an existing one)."""
    if password_stdin:
        password = sys.stdin.readline().rstrip("\n")
    else:
        password = click.prompt("Kata sandi", hide_input=True, confirmation_prompt=True)
    try:
        user = add_user(username, password, list(roles), full_name, kecamatan)
    except InvalidData as exc:
        raise click.ClickException(field_messages(exc)) from None
    click.echo(f"Pengguna {user.username} ({user.roles}) disimpan.")


def field_messages(error: InvalidData) -> str:
    """An ``InvalidData`` as lines a person reads: the message, then each field's messages."""
    lines = [error.message]
    for name, messages in (error.fields or {}).items():
        texts = messages if isinstance(messages, list) else [str(messages)]
        lines += [f"  {name}: {text}" for text in texts]
    return "\n".join(lines)


@users.command("deactivate")
@click.argument("username")
@with_appcontext
def users_deactivate(username: str) -> None:
    """Deactivate a staff user: no more sign-in, and every session of theirs ends at once."""
    try:
        user = deactivate_user(username)
    except NotFound as exc:
        raise click.ClickException(exc.message) from None
    click.echo(f"Pengguna {user.username} dinonaktifkan; semua sesinya diakhiri.")


@users.command("contact")
@click.argument("username")
@click.option("--email", default=None, help='e-mail address for notices ("" clears it)')
@click.option("--phone", default=None, help='WhatsApp number, e.g. 081234567890 ("" clears it)')
@click.option("--notify-email/--no-notify-email", default=None, help="notices also by e-mail")
@click.option("--notify-whatsapp/--no-notify-whatsapp", default=None, help="notices also by WhatsApp")
@with_appcontext
def users_contact(
    username: str, email: str | None, phone: str | None, notify_email: bool | None, notify_whatsapp: bool | None
) -> None:
    """Set a staff user's contact details and notice channels (in-app notices are always on)."""
    from .users import ContactUpdate

    given = {"email": email, "phone": phone, "notify_email": notify_email, "notify_whatsapp": notify_whatsapp}
    try:
        changes = ContactUpdate().load(
            {k: (v or None) if isinstance(v, str) else v for k, v in given.items() if v is not None}
        )
        user = people.set_contact(people.by_username(db.session, username), changes)
    except ValidationError as exc:
        raise click.ClickException(f"Data tidak sah: {exc.normalized_messages()}") from None
    except EngineError as exc:
        raise click.ClickException(f"{exc.message} {getattr(exc, 'fields', '')}".strip()) from None
    db.session.commit()
    channels = ", ".join(c for c, on in (("e-mail", user.notify_email), ("WhatsApp", user.notify_whatsapp)) if on)
    click.echo(f"Kontak {user.username} disimpan; pemberitahuan: aplikasi{', ' + channels if channels else ''}.")


@click.group("calendar")
def calendar() -> None:
    """Working-time calendar overrides: extra closing days and weekend service days."""


@calendar.command("list")
@with_appcontext
def calendar_list() -> None:
    """List every override."""
    for row in worktime.list_overrides(db.session):
        state = "buka" if row.open else "tutup"
        click.echo(f"{row.day.isoformat()}  {state:<5}  {row.reason}")


def _set_day(day: datetime, open_: bool, reason: str) -> None:
    try:
        deadlines.change_day(db.session, day.date(), open_, reason, "cli")
    except InvalidData as exc:
        raise click.ClickException(f"{exc.message} {exc.fields}") from None
    db.session.commit()
    click.echo(f"{day.date().isoformat()}: kantor {'buka' if open_ else 'tutup'}.")


@calendar.command("close")
@click.argument("day", type=click.DateTime(formats=["%Y-%m-%d"]))
@click.option("--reason", default="", help="why the office is closed (shown to supervisors)")
@with_appcontext
def calendar_close(day: datetime, reason: str) -> None:
    """Close the office on DAY (YYYY-MM-DD), e.g. an extra closing day."""
    _set_day(day, False, reason)


@calendar.command("open")
@click.argument("day", type=click.DateTime(formats=["%Y-%m-%d"]))
@click.option("--reason", default="", help="why the office is open (shown to supervisors)")
@with_appcontext
def calendar_open(day: datetime, reason: str) -> None:
    """Open the office on DAY (YYYY-MM-DD), e.g. a weekend service day."""
    _set_day(day, True, reason)


@calendar.command("remove")
@click.argument("day", type=click.DateTime(formats=["%Y-%m-%d"]))
@with_appcontext
def calendar_remove(day: datetime) -> None:
    """Return DAY to the regular calendar."""
    try:
        deadlines.reset_day(db.session, day.date(), "cli")
    except NotFound as exc:
        raise click.ClickException(exc.message) from None
    except InvalidData as exc:
        raise click.ClickException(f"{exc.message} {exc.fields}") from None
    db.session.commit()
    click.echo(f"{day.date().isoformat()}: kembali ke kalender biasa.")


def main() -> None:
    from engine.kia.siak import SiakNotConfigured

    from . import create_app

    try:
        FlaskGroup(create_app=create_app, add_default_commands=True, load_dotenv=False)(prog_name="kia")
    except SiakNotConfigured as exc:  # a configuration error, not a crash: one clear line
        click.echo(f"Error: {exc.message}", err=True)
        sys.exit(2)
