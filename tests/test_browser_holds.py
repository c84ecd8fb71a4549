"""Browser test of holds (issue 19, point 4): Playwright drives Debian's Chromium against ``kia serve``
(SQLite, then PostgreSQL). The print operator runs out of blank cards: they put the printing step on hold
with the reason, the inbox and the task page show it held (no completion form), they resume it, and the
application page's control card shows the hold with its reason, who held it and how long. The hold form
and the held task are kept as screenshots (``docs/screenshots/task_hold*.png``)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from sqlalchemy import select

from .helpers import seed_applications
from .test_browser import _requirements, chromium, console_errors, service_with_seeder, shot, sign_in

pytestmark = pytest.mark.browser

BLANGKO = "Blangko KIA habis"


def verified(seeder: Any, code: str) -> None:
    """The admin's verification, done through the engine's use case (the printing step opens)."""
    import forms
    from api.extensions import db
    from engine.kia import applications, completion
    from engine.models import TaskRow, TaskRowState

    with seeder.app_context():
        instance_id = applications.by_code(db.session, code).instance_id
        row = db.session.scalar(
            select(TaskRow).where(TaskRow.instance_id == instance_id, TaskRow.state == TaskRowState.OPEN)
        )
        assert row is not None and row.step == "verify_application"
        data = forms.load_form(
            row.form_key, {"decision": "complete", "override_reason": "Dokumen asli sudah diperiksa di loket."}
        )
        completion.complete_validated(db.session, row, data, "admin")
        db.session.commit()


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def served(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    """The service with one application verified and waiting for the print operator."""
    problem = _requirements()
    if problem:
        pytest.skip(problem)
    home = tmp_path_factory.mktemp("kia-browser-holds")
    with service_with_seeder(request.param, home) as (base, seeder):
        [code] = seed_applications(seeder, [{"name": "Nadia Putri Lestari", "nik": "1471085005230099"}])
        verified(seeder, code)
        yield {"base": base, "code": code, "database": request.param}


def test_operator_holds_and_resumes_a_step_and_the_control_card_shows_it(served: dict[str, Any]) -> None:
    base, code = served["base"], served["code"]
    with chromium() as browser:
        page = browser.new_page()
        errors = console_errors(page)
        sign_in(page, base, "operator")
        page.goto(f"{base}/petugas/tugas")
        page.click(f'tr[data-code="{code}"] a.button')
        page.wait_for_load_state()
        assert page.locator("#complete").count() == 1

        page.click("#hold-section summary")
        page.click("#hold")  # no reason given: asked for it, in Indonesian, nothing held
        page.wait_for_load_state()
        assert "Tidak boleh kosong." in page.inner_text("#hold-form")
        assert page.locator("#held").count() == 0
        page.fill("#hold-reason", BLANGKO)
        if served["database"] == "sqlite":
            shot(page, "task_hold_form")
        page.click("#hold")
        page.wait_for_load_state()
        assert f"Ditunda: {BLANGKO}" in page.inner_text("#held")
        assert "pemohon tidak diberi tahu" in page.inner_text("#held")
        assert page.locator("#complete").count() == 0 and page.locator("#resume").count() == 1
        if served["database"] == "sqlite":
            shot(page, "task_held")

        page.goto(f"{base}/petugas/tugas")
        row = page.locator(f'tr[data-code="{code}"]')
        assert f"Ditunda: {BLANGKO}" in row.inner_text() and "berhenti selama ditunda" in row.inner_text()
        row.locator("a.button").click()
        page.wait_for_load_state()
        page.click("#resume")
        page.wait_for_load_state()
        assert "dilanjutkan" in page.inner_text("body") and page.locator("#complete").count() == 1

        page.goto(f"{base}/petugas/permohonan/{code}")
        hold_line = page.inner_text("#control-card tr.hold")
        assert BLANGKO in hold_line and "Petugas Penerbitan KIA" in hold_line, hold_line
        assert "lama ditunda" in hold_line and "dilanjutkan" in hold_line, hold_line
        assert "Ditunda (kendala kantor)" in page.inner_text("body")
        if served["database"] == "sqlite":
            shot(page, "control_card_hold")
        assert not errors, errors
