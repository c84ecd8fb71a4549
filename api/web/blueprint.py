"""The pages' blueprint: CSRF on every POST, security headers, HTML error pages, sign-in guards."""

from __future__ import annotations

import functools
from collections.abc import Callable
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from flask import Blueprint, Response, redirect, render_template, request, url_for
from werkzeug.exceptions import NotFound as UnknownAddress

from engine.kia.access import Principal
from engine.workflow.errors import EngineError
from forms import FormValidationError

from ..auth import current_principal
from ..errors import HTTP_MESSAGES, STATUS_OF, ApiError, error_response, message_of
from ..extensions import db
from . import csrf

STATIC = Path(__file__).resolve().parents[2] / "web" / "static"

blp = Blueprint("web", __name__, template_folder="templates", static_folder=str(STATIC), static_url_path="/assets")

CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; "
    "font-src 'self' data:; connect-src 'self'; object-src 'none'; base-uri 'none'; "
    "frame-ancestors 'none'; form-action 'self'"
)


@blp.before_request
def _check_csrf() -> Any:
    if request.method == "POST" and not csrf.request_is_valid():
        return error_page(400, "Formulir kedaluwarsa atau tidak sah. Muat ulang halaman lalu coba lagi.")
    return None


@blp.after_request
def _page_headers(response: Response) -> Response:
    """The pages' own policy (bpmn-js needs its embedded fonts); the app adds the other security headers."""
    if response.mimetype == "text/html":
        response.headers.setdefault("Content-Security-Policy", CSP)
        response.headers.setdefault("Referrer-Policy", "no-referrer")  # the status URL holds the code
        response.headers["Cache-Control"] = "no-store"
    return response


def error_page(status: int, message: str) -> tuple[str, int]:
    return render_template("web/error.html", status=status, message=message), status


def unknown_address(exc: UnknownAddress) -> Any:
    """An address no route answers: a page (its link goes to the front door) for a browser outside the API,
    the API's JSON error otherwise."""
    wants_page = request.accept_mimetypes.best_match(["application/json", "text/html"]) == "text/html"
    if wants_page and not request.path.startswith("/api/"):
        principal()  # the page's menu and link are the officer's when one is signed in
        return error_page(404, "Halaman yang Anda cari tidak ada. Periksa alamatnya, atau mulai dari halaman depan.")
    return error_response(404, "not_found", HTTP_MESSAGES[404])


@blp.errorhandler(EngineError)
def _engine_error(exc: EngineError) -> tuple[str, int]:
    db.session.rollback()
    status = next((s for cls, s in STATUS_OF.items() if isinstance(exc, cls)), 400)
    return error_page(status, message_of(exc))


@blp.errorhandler(ApiError)
def _api_error(exc: ApiError) -> tuple[str, int]:
    db.session.rollback()
    return error_page(exc.status, exc.message)


@blp.errorhandler(FormValidationError)
def _form_error(exc: FormValidationError) -> tuple[str, int]:
    db.session.rollback()
    return error_page(422, HTTP_MESSAGES[422])


def principal() -> Principal | None:
    return current_principal(required=False)


def staff_page(*roles: str) -> Callable:
    """Only signed-in staff (holding one of ``roles`` when given); others go to the sign-in page."""

    def decorate(view: Callable) -> Callable:
        @functools.wraps(view)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            who = principal()
            if who is None or not who.is_staff:
                return redirect(url_for("web.sign_in", next=request.full_path.rstrip("?")))
            if who.user is not None and who.user.must_change_password and request.endpoint != "web.own_password":
                return redirect(url_for("web.own_password"))  # a temporary password: a new one first
            if roles and not who.roles & set(roles):
                return error_page(403, "Halaman ini bukan untuk peran Anda.")
            return view(*args, **kwargs)

        return wrapper

    return decorate


def safe_next(target: str | None, default: str) -> str:
    """Only a local path is followed after sign-in (no open redirect): it starts with one ``/``, has no
    scheme or host, no backslash (browsers read it as ``/``), no whitespace or control characters (which
    browsers strip, turning ``/<TAB>/evil.example`` into ``//evil.example``), at most 2,000 characters."""
    if not target or len(target) > 2000 or not target.startswith("/") or target.startswith("//"):
        return default
    if "\\" in target or any(ch.isspace() or not ch.isprintable() for ch in target):
        return default
    if urlsplit(target).scheme or urlsplit(target).netloc:
        return default
    return target
