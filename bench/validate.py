"""How long validating the bundled diagram takes: the lint plus the dry run of every path (target < 2 s).

python -m bench.validate             # median of 5, in process and through POST /api/v1/processes/validate
python -m bench.validate --runs 9

"In process" is the use case alone (``api.diagrams.check``); "HTTP" is the whole request through the Flask
app (sign-in token, upload, the answer with every path) on a throw-away SQLite database.
"""

from __future__ import annotations

import argparse
import os
import statistics
import time

from .common import PASSWORD, ROOT, app_config, database

DIAGRAM = (ROOT / "bpmn" / "kia_whatsapp.bpmn").read_bytes()


def in_process(runs: int) -> tuple[list[float], list[float], dict]:
    """Wall-clock and CPU seconds of each run (CPU time shows the work itself on a busy machine)."""
    import handlers  # noqa: F401  registers the service handlers
    from api import diagrams

    times, cpu, checked = [], [], None
    files = diagrams.files_beside(ROOT / "bpmn" / "kia_whatsapp.bpmn")  # its decision table
    for _ in range(runs):
        began, began_cpu = time.perf_counter(), time.process_time()
        checked = diagrams.check(DIAGRAM, files)
        times.append(time.perf_counter() - began)
        cpu.append(time.process_time() - began_cpu)
    assert checked is not None and not checked.problems, checked and checked.problems
    return times, cpu, diagrams.checked_dict(checked)


def over_http(runs: int) -> list[float]:
    from api import create_app
    from api.provisioning import add_user

    with database("sqlite") as db:
        app = create_app(app_config(db))
        with app.app_context():
            add_user("owner1", PASSWORD, ["owner"], "owner1")
        client = app.test_client()
        login = client.post("/api/v1/auth/token", json={"username": "owner1", "password": PASSWORD})
        headers = {"Authorization": f"Bearer {login.get_json()['access_token']}", "Content-Type": "application/xml"}
        times = []
        for _ in range(runs):
            began = time.perf_counter()
            response = client.post("/api/v1/processes/validate", data=DIAGRAM, headers=headers)
            times.append(time.perf_counter() - began)
            assert response.status_code == 200 and response.get_json()["valid"], response.get_json()
        return times


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.validate", description=__doc__)
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    load = os.getloadavg()[0]
    local, cpu, body = in_process(args.runs)
    http = over_http(args.runs)
    paths = body["paths"]
    print(f"bundled diagram: {len(paths)} paths walked ({body['loops_cut']} runs cut at the loop limit), all ok")
    for label, times in (("in process", local), ("in process, CPU time", cpu), ("HTTP", http)):
        print(
            f"validate with dry run, {label}: median {statistics.median(times) * 1000:.0f} ms "
            f"(runs {', '.join(f'{t * 1000:.0f}' for t in times)} ms; target < 2000 ms)"
        )
    print(f"load average at start: {load:.2f} on {os.cpu_count()} CPUs")


if __name__ == "__main__":
    main()
