"""One-page render time of each PDF (median of several runs after a warm-up), on a throwaway SQLite app.

    .venv/bin/python bench/pdf_render.py [--runs 15]

The target (issue 5) is under 0.5 s per page on the development machine.
"""

from __future__ import annotations

import argparse
import io
import json
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from api import create_app  # noqa: E402
from api.extensions import db  # noqa: E402
from api.provisioning import add_user, init_database  # noqa: E402
from bench.common import HANDOVER  # noqa: E402
from engine.kia import applications, distribution  # noqa: E402
from engine.kia.people import Signatory  # noqa: E402
from engine.workflow.clock import clock  # noqa: E402
from handlers import pdf  # noqa: E402

PASSWORD = "bench-password-1"
STEPS = (
    ("admin", ["admin"], None, {"decision": "complete"}),
    ("operator", ["operator"], None, {"decision": "issued"}),
    ("dafdud", ["dafdud"], None, {"batch": "bench"}),
    ("uptd", ["uptd"], "14.71.08", {"decision": "arrived"}),
    ("uptd", ["uptd"], "14.71.08", HANDOVER),
)
APPLICATION = {
    "applicant": {
        "name": "Siti Rahmawati",
        "phone": "081234567890",
        "email": "siti@example.com",
        "relationship": "ibu",
    },
    "child": {
        "name": "Aisyah Putri Ramadhani",
        "nik": "1471085005230001",
        "birth_date": "2023-05-10",
        "birth_place": "Pekanbaru",
        "sex": "P",
        "kk_number": "1471081506230002",
        "akta_number": "1471-LT-15062023-0001",
        "address": "Jl. Garuda Sakti Km 3 No. 12",
        "kecamatan": "14.71.08",
    },
}


def one_application(client) -> str:  # noqa: ANN001
    files = {"kk": (io.BytesIO(b"%PDF-1.4\n%%EOF\n"), "kk.pdf"), "akta": (io.BytesIO(b"%PDF-1.4\n%%EOF\n"), "a.pdf")}
    response = client.post(
        "/api/v1/applications", data={"data": json.dumps(APPLICATION), **files}, content_type="multipart/form-data"
    )
    assert response.status_code == 201, response.get_json()
    code = response.get_json()["code"]
    for user, _, _, data in STEPS:
        token = client.post("/api/v1/auth/token", json={"username": user, "password": PASSWORD}).get_json()
        headers = {"Authorization": f"Bearer {token['access_token']}"}
        [task] = [
            t for t in client.get("/api/v1/tasks", headers=headers).get_json()["items"] if t["application_code"] == code
        ]
        assert client.post(f"/api/v1/tasks/{task['id']}/complete", json=data, headers=headers).status_code == 200
    return code


def medians(render, runs: int) -> tuple[float, float]:  # noqa: ANN001
    """Median wall-clock and CPU seconds (the machine is shared: CPU time shows the cost without waits)."""
    render()  # warm-up: fonts and stylesheets are loaded once per process
    wall, cpu = [], []
    for _ in range(runs):
        start, start_cpu = time.perf_counter(), time.process_time()
        render()
        wall.append(time.perf_counter() - start)
        cpu.append(time.process_time() - start_cpu)
    return statistics.median(wall), statistics.median(cpu)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=15)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        app = create_app(
            {
                "SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp}/kia.db",
                "DOCUMENT_DIR": f"{tmp}/docs",
                "KIA_SCHEDULER": False,
                "SECRET_KEY": "bench",
                "LOGIN_RATE_LIMIT": 10_000,
            }
        )
        with app.app_context():
            init_database(app.config["KIA_BUNDLED_DIAGRAM"])
            for username, roles, kecamatan, _ in {step[0]: step for step in STEPS}.values():  # one account each
                add_user(username, PASSWORD, roles, username.title(), kecamatan)
        code = one_application(app.test_client())  # requests outside the app context: each has its own g
        with app.app_context():
            session = db.session
            application = applications.by_code(session, code)
            today = clock.now().astimezone(distribution.JAKARTA).date()
            groups = distribution.recap_of_day(session, today)
            officer = Signatory("Bench", "198703152010012003")
            cases = {
                "receipt": lambda: pdf.receipt(session, application, f"http://127.0.0.1:5000/status/{code}"),
                "control card": lambda: pdf.control_card(session, application),
                "distribution recap (1 kecamatan)": lambda: pdf.distribution(groups, "bench"),
                "delivery report (1 day)": lambda: pdf.deliveries(session, today, today, officer, "470/001/B/I/2027"),
            }
            print(
                f"one-page PDF render time, median of {args.runs} runs after one warm-up "
                f"(load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs):"
            )
            for name, render in cases.items():
                wall, cpu = medians(render, args.runs)
                print(f"  {name:34s} wall {wall * 1000:6.1f} ms   cpu {cpu * 1000:6.1f} ms")


if __name__ == "__main__":
    main()
