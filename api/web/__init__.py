"""Web pages: staff inbox and task forms, the application's diagram, the process owner's modeler and
versions, the supervisor's dashboard and the applicant's status page. Server-rendered (Jinja) with small
scripts; the bpmn-js bundles are built from npm into ``web/static/dist`` by ``make install``.

The pages call the same functions as the v1 API (``api.tasks``, ``api.applications``, ``api.processes``)
or the engine, never a second copy of the logic. Sign-in is a Flask session cookie; every POST carries
a CSRF token (a form field for pages, the ``X-CSRF-Token`` header for the API called from a page).
"""

from __future__ import annotations

from datetime import timedelta

from flask import Flask

from . import filters, notices, pages, session


def init_app(app: Flask) -> None:
    app.config.update(
        SESSION_COOKIE_NAME="kia_session",
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Lax",
        SESSION_COOKIE_SECURE=app.config["PUBLIC_BASE_URL"].startswith("https://"),
        PERMANENT_SESSION_LIFETIME=timedelta(seconds=app.config["TOKEN_TTL_SECONDS"]),
    )
    app.extensions["kia_session_principal"] = session.session_principal
    filters.register(app)
    notices.register(app)
    app.register_blueprint(pages.blp)
    app.register_error_handler(404, pages.unknown_address)
