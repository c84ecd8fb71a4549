"""Checking an uploaded diagram before it may go live: the lint with the forms' allowed values, then the
dry run along every path with sample data each form accepts. One place for the validate endpoint, the
deploy endpoint and ``kia deploy``, so the three never disagree."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy.orm import Session

import forms
from engine.models import ProcessVersion
from engine.workflow import definitions, dryrun, version_files, versions
from engine.workflow.errors import DiagramRejected, NotFound, Problem
from engine.workflow.version_files import NO_FILES, VersionFiles

# What every application starts with (engine.kia.applications); a dry run starts with the same keys.
START_DATA = {"child_age": 3, "kia_kind": "under_5", "photo_required": False}


@dataclass
class Checked:
    process_key: str | None
    problems: list[Problem]
    run: dryrun.DryRun | None = None  # None when the lint already refused the diagram


def dry_run(definition: definitions.Definition) -> dryrun.DryRun:
    return dryrun.dry_run(definition, forms.form_samples(), start_data=START_DATA)


def dry_run_problems(definition: definitions.Definition) -> list[Problem]:
    return dry_run(definition).problems


def check(xml: bytes, files: VersionFiles = NO_FILES, session: Session | None = None) -> Checked:
    """Lint and dry-run ``xml`` with its ``files`` (and, given a ``session``, the decision tables it would
    keep: ``kept_decisions``); never raises for a bad diagram, reports it."""
    if session is not None:
        files = kept_decisions(session, xml, files)
    try:
        definition = definitions.build_definition(xml, forms.form_choices(), files)
    except DiagramRejected as exc:
        return Checked(None, list(exc.problems))
    run = dry_run(definition)
    return Checked(definition.process_key, list(run.problems), run)


def deploy(
    session: Session, xml: bytes, actor: str, files: VersionFiles = NO_FILES, **options: Any
) -> tuple[ProcessVersion, bool]:
    """Deploy ``xml`` with its ``files`` only if it lints clean and every path of its dry run succeeds;
    ``options`` go on to ``definitions.deploy``. Sent without decision tables, the diagram keeps the
    active version's (``kept_decisions``)."""
    return definitions.deploy(
        session,
        xml,
        forms.form_choices(),
        actor,
        files=kept_decisions(session, xml, files),
        verify=dry_run_problems,
        **options,
    )


def kept_decisions(session: Session, xml: bytes, files: VersionFiles) -> VersionFiles:
    """``files``, with what the process's active version has and the upload lacks: its decision tables
    when none were sent (a diagram changed without touching its tables keeps them, as Camunda's
    business-rule tasks call the newest deployed decision; sending any table replaces them all), and each
    of its forms a user task names that was not sent (a diagram deployed again without its forms, e.g. as
    plain XML, keeps the forms its steps use). What is kept is stored with the new version like what was
    sent."""
    process_key = definitions.process_key_of(xml)
    if process_key is None:
        return files  # not a diagram: the build reports why
    try:
        active = versions.active_version(session, process_key)
    except NotFound:
        return files
    stored = version_files.from_rows(active.files)
    decisions = files.decisions or stored.decisions
    named = definitions.form_keys_in(xml) - set(forms.FORMS) - set(files.forms)
    kept_forms = {form_id: stored.forms[form_id] for form_id in sorted(named) if form_id in stored.forms}
    if not kept_forms and decisions is files.decisions:
        return files
    return VersionFiles({**files.forms, **kept_forms}, decisions)


def files_beside(diagram: Path) -> VersionFiles:
    """The forms (``*.form.json``) and decision tables (``*.dmn``) in the diagram's folder: what the
    bundled diagram is deployed with."""
    folder = diagram.parent
    return version_files.read(
        [path.read_bytes() for path in sorted(folder.glob("*.form.json"))],
        [(path.name, path.read_bytes()) for path in sorted(folder.glob("*.dmn"))],
    )


def read_files(forms: list[Path], decisions: list[Path]) -> VersionFiles:
    """Forms and decision tables named on the command line."""
    return version_files.read([p.read_bytes() for p in forms], [(p.name, p.read_bytes()) for p in decisions])


def checked_dict(checked: Checked) -> dict:
    """The validate endpoint's answer (``schemas.ValidationResult``)."""
    run = checked.run
    return {
        "valid": not checked.problems,
        "process_key": checked.process_key,
        "problems": [p.as_dict() for p in checked.problems],
        "dry_run": run is not None,
        "paths": [_path_dict(p) for p in run.paths] if run is not None else [],
        "loops_cut": run.loops_cut if run is not None else 0,
    }


def _path_dict(path: dryrun.Path) -> dict:
    return {
        "ok": path.ok,
        "outcome": path.outcome.value,
        "decisions": [{"step": step, "value": value} for step, value in path.decisions],
        "elements": path.elements,
        "problem": path.problem.as_dict() if path.problem is not None else None,
    }
