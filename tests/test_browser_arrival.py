"""Browser test of the arrival at the UPTD (issue 20.2): Playwright drives Debian's Chromium against
``kia serve`` (SQLite, then PostgreSQL). Three printed cards of Binawidya are grouped into one batch; the
Ka. UPTD opens the batch page, ticks "Semua" (every card's box ticks), marks one card "tidak ada" with a
note, confirms: two cards arrived, one missing, the batch reads "Diterima, ada KIA yang tidak sampai"."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from sqlalchemy import select

from .helpers import seed_applications
from .test_browser import _requirements, chromium, console_errors, service_with_seeder, shot, sign_in

pytestmark = pytest.mark.browser

LOST_NOTE = "Tidak ada dalam amplop"


def grouped(seeder: Any, codes: list[str]) -> int:
    """Verified, printed and grouped in one batch through the engine's use cases; the batch's id."""
    import forms
    from api.extensions import db
    from engine.kia import applications, completion, distribution
    from engine.kia.access import Principal
    from engine.models import TaskRow, TaskRowState, User
    from engine.workflow.catalogue import catalogue

    with seeder.app_context():
        for code, data in (
            ("verify_application", {"decision": "complete", "override_reason": "Dokumen asli sudah diperiksa."}),
            ("print_card", {"decision": "issued"}),
        ):
            for app_code in codes:
                instance_id = applications.by_code(db.session, app_code).instance_id
                row = db.session.scalar(
                    select(TaskRow).where(TaskRow.instance_id == instance_id, TaskRow.state == TaskRowState.OPEN)
                )
                assert row is not None and row.step == code
                completion.complete_validated(db.session, row, forms.load_form(row.form_key, data), "petugas")
        db.session.commit()
        officer = db.session.scalar(select(User).where(User.username == "dafdud"))
        tasks = db.session.scalars(
            select(TaskRow.id).where(TaskRow.form_key == "grouping", TaskRow.state == TaskRowState.OPEN)
        ).all()
        principal = Principal(user=officer, lanes=catalogue(db.session))
        [batch], _, _ = distribution.group_in_batch(
            db.session, principal, tasks, {"batch": "Kiriman Senin"}, forms.load_form
        )
        db.session.commit()
        return batch.id


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def served(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    problem = _requirements()
    if problem:
        pytest.skip(problem)
    home = tmp_path_factory.mktemp("kia-browser-arrival")
    with service_with_seeder(request.param, home) as (base, seeder):
        children = [
            {"name": name, "nik": f"14710850052300{n}"}
            for n, name in ((81, "Nadia Putri Lestari"), (82, "Raka Aditya Pratama"), (83, "Salsa Amelia Putri"))
        ]
        codes = seed_applications(seeder, children)
        yield {"base": base, "codes": codes, "batch": grouped(seeder, codes), "database": request.param}


def test_the_uptd_confirms_a_batch_with_select_all_and_one_card_missing(served: dict[str, Any]) -> None:
    base, codes, batch = served["base"], served["codes"], served["batch"]
    with chromium() as browser:
        page = browser.new_page()
        errors = console_errors(page)
        sign_in(page, base, "uptd.binawidya")
        page.goto(f"{base}/petugas/batch")
        page.click(f'tr[data-batch="{batch}"] a')
        page.wait_for_load_state()
        assert "Dikirim, belum dikonfirmasi UPTD" in page.inner_text("main")
        boxes = page.locator('input[name="arrived"]')
        assert boxes.count() == 3 and not any(boxes.nth(i).is_checked() for i in range(3))
        page.check('input.select-all[data-group="arrival"]')  # "Semua": every card's box ticks
        assert all(boxes.nth(i).is_checked() for i in range(3))
        lost = codes[1]
        page.check(f'input[name="missing"][value="{lost}"]')
        page.fill(f'input[name="note_{lost}"]', LOST_NOTE)
        if served["database"] == "sqlite":
            shot(page, "arrival_confirmation")
        page.click('#arrival button[type="submit"]')
        page.wait_for_load_state()
        text = page.inner_text("main")
        assert "2 KIA dikonfirmasi tiba" in text and "1 KIA dilaporkan tidak ada ke Staf Bidang Dafdud" in text
        assert "Diterima, ada KIA yang tidak sampai" in text and "2 tiba, 1 tidak ada, 0 belum dikonfirmasi" in text
        row = page.inner_text(f'tr[data-code="{lost}"]')
        assert "Tidak ada dalam kiriman" in row and LOST_NOTE in row
        for code in (codes[0], codes[2]):
            assert "Tiba di UPTD" in page.inner_text(f'tr[data-code="{code}"]')
        assert page.locator('input[name="arrived"]').count() == 0  # nothing left to confirm
        assert errors == []
