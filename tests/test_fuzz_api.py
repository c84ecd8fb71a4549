"""Property-based API testing with schemathesis against /api/v1/openapi.json, on SQLite and PostgreSQL.

Every operation is called with and without credentials (a staff user holding every role). No answer may be
a 500, and every answer must match the documented status codes, media types and schemas. The number of
examples per operation is bounded by ``KIA_FUZZ_EXAMPLES`` (small in ``make test``, large in ``make fuzz``).
"""

from __future__ import annotations

import os
from collections import Counter

import pytest
import schemathesis
from flask import Flask
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from schemathesis.checks import not_a_server_error
from schemathesis.generation import GenerationMode
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from api import create_app
from api.provisioning import add_user

from .helpers import PASSWORD, submit

EXAMPLES = int(os.environ.get("KIA_FUZZ_EXAMPLES", "8"))
CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance, response_schema_conformance]
STATS: Counter[str] = Counter()


def _operation_labels() -> list[str]:
    app = create_app({"SQLALCHEMY_DATABASE_URI": "sqlite://", "KIA_SCHEDULER": False, "TESTING": True})
    spec = app.test_client().get("/api/v1/openapi.json").get_json()
    return [
        f"{method.upper()} {path}"
        for path, item in spec["paths"].items()
        for method in item
        if method in {"get", "post", "put", "patch", "delete"}
    ]


OPERATIONS = _operation_labels()
FUZZ_SETTINGS = settings(
    max_examples=EXAMPLES,
    deadline=None,
    derandomize=not os.environ.get("KIA_FUZZ_RANDOM"),
    suppress_health_check=list(HealthCheck),
    database=None,
)


@pytest.fixture
def fuzz_app(app: Flask) -> Flask:
    """The app with a staff user holding every role, and one real application to find."""
    with app.app_context():
        add_user(
            "fuzzer",
            PASSWORD,
            ["admin", "operator", "dafdud", "uptd", "owner", "supervisor"],
            "Penguji Fuzz",
            "14.71.08",
        )
    assert submit(app.test_client()).status_code == 201
    return app


@pytest.fixture(scope="module", autouse=True)
def _report(request: pytest.FixtureRequest):  # noqa: ANN202
    yield
    reporter = request.config.pluginmanager.get_plugin("terminalreporter")
    capture = request.config.pluginmanager.get_plugin("capturemanager")
    if STATS and reporter is not None and capture is not None:
        with capture.global_and_fixture_disabled():
            reporter.write_line(
                f"\nschemathesis: {sum(STATS.values())} requests fuzzed ({EXAMPLES} examples "
                f"per operation and credential); by status {dict(sorted(STATS.items()))}"
            )


@pytest.mark.parametrize("credentials", ["anonymous", "staff"])
@pytest.mark.parametrize("label", OPERATIONS)
def test_operation(fuzz_app: Flask, label: str, credentials: str) -> None:
    headers: dict[str, str] = {}
    if credentials == "staff":
        response = fuzz_app.test_client().post("/api/v1/auth/token", json={"username": "fuzzer", "password": PASSWORD})
        headers = {"Authorization": f"Bearer {response.get_json()['access_token']}"}
    operation = schemathesis.openapi.from_wsgi("/api/v1/openapi.json", fuzz_app).find_operation_by_label(label)
    assert operation is not None, label
    strategy = st.one_of(operation.as_strategy(GenerationMode.POSITIVE), operation.as_strategy(GenerationMode.NEGATIVE))

    @FUZZ_SETTINGS
    @given(case=strategy)
    def check(case) -> None:  # noqa: ANN001
        response = case.call_and_validate(headers=headers or None, checks=CHECKS)
        STATS[str(response.status_code)] += 1

    check()
