"""Security headers on every answer (API, pages, documents).

Pages get a Content-Security-Policy (``KIA_CSP`` overrides it; a page may set its own); API answers get
one that allows nothing. HSTS is sent when ``KIA_HSTS_SECONDS`` is above zero (behind HTTPS only)."""

from __future__ import annotations

from flask import Flask, Response, current_app, request

PAGE_CSP = (
    "default-src 'self'; img-src 'self' data:; style-src 'self' 'unsafe-inline'; script-src 'self'; "
    "font-src 'self'; connect-src 'self'; object-src 'none'; base-uri 'self'; form-action 'self'; "
    "frame-ancestors 'none'"
)
API_CSP = "default-src 'none'; frame-ancestors 'none'; sandbox"


def add_security_headers(response: Response) -> Response:
    headers = response.headers
    headers.setdefault("X-Content-Type-Options", "nosniff")
    headers.setdefault("X-Frame-Options", "DENY")
    headers.setdefault("Referrer-Policy", "strict-origin-when-cross-origin")
    headers.setdefault("Cross-Origin-Opener-Policy", "same-origin")
    if response.mimetype == "text/html":
        headers.setdefault("Content-Security-Policy", current_app.config["CONTENT_SECURITY_POLICY"])
    else:
        headers.setdefault("Content-Security-Policy", API_CSP)
    if request.path.startswith("/api/"):
        headers.setdefault("Cache-Control", "no-store")
    hsts = current_app.config["HSTS_SECONDS"]
    if hsts > 0:
        headers.setdefault("Strict-Transport-Security", f"max-age={hsts}; includeSubDomains")
    return response


def register(app: Flask) -> None:
    app.after_request(add_security_headers)
