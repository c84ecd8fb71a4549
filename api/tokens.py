"""POST /api/v1/auth/token: sign in (staff or applicant); POST /api/v1/auth/revoke: end this token;
POST /api/v1/auth/sign-out: end every session of the user; POST /api/v1/auth/new-pin: a new PIN to the
application's own contact."""

from __future__ import annotations

from flask import current_app
from flask.views import MethodView

from . import ratelimit
from .auth import (
    PIN_SENT,
    bearer_token,
    issue_token,
    reissue_pin,
    revoke,
    sign_in_applicant,
    sign_in_staff,
    sign_out,
)
from .errors import ApiError
from .extensions import db
from .http import Blueprint
from .schemas import NewPinRequest, NewPinResponse, TokenRequest, TokenResponse

blp = Blueprint("auth", __name__, url_prefix="/api/v1/auth", description="Sign-in for staff and applicants")


@blp.route("/token")
class Token(MethodView):
    @blp.arguments(TokenRequest)
    @blp.response(200, TokenResponse)
    @blp.errors(401, 403, 429)
    def post(self, body: dict) -> dict:
        """Exchange a user name and password, or an application code and PIN, for a bearer token. A
        temporary password (set by a supervisor) gets 403 until the officer has replaced it."""
        if body.get("username") and body.get("password") is not None:
            user = sign_in_staff(body["username"], body["password"])
            if user.must_change_password:  # a temporary password opens only the page that replaces it
                db.session.commit()
                raise ApiError(
                    403,
                    "password_change_required",
                    "Kata sandi ini sementara: ganti dulu di halaman Ganti kata sandi (/akun/kata-sandi).",
                )
            token, ttl = issue_token(user=user)
            db.session.commit()
            return {"access_token": token, "token_type": "Bearer", "expires_in": ttl, "roles": sorted(user.role_set)}
        if body.get("code") and body.get("pin") is not None:
            ratelimit.limit("pin", current_app.config["LOGIN_RATE_LIMIT"])
            app = sign_in_applicant(body["code"], str(body["pin"]))
            token, ttl = issue_token(application=app)
            db.session.commit()
            return {"access_token": token, "token_type": "Bearer", "expires_in": ttl, "roles": ["applicant"]}
        raise ApiError(400, "bad_request", "Kirim username dan password, atau code dan pin.")


@blp.route("/revoke")
class Revoke(MethodView):
    @blp.response(204)
    @blp.errors(401)
    def post(self) -> None:
        """Revoke the bearer token used for this request (the user's other sessions go on)."""
        token = bearer_token()
        if not token:
            raise ApiError(401, "unauthorized", "Silakan masuk terlebih dahulu.")
        revoke(token)
        db.session.commit()


@blp.route("/sign-out")
class SignOut(MethodView):
    @blp.response(204)
    @blp.errors(401)
    def post(self) -> None:
        """Sign out everywhere: every session of the token's staff user ends at once (bearer tokens and
        the pages' cookie sessions); an applicant's token ends."""
        token = bearer_token()
        if not token:
            raise ApiError(401, "unauthorized", "Silakan masuk terlebih dahulu.")
        sign_out(token)
        db.session.commit()


@blp.route("/new-pin")
class NewPin(MethodView):
    @blp.arguments(NewPinRequest)
    @blp.response(202, NewPinResponse)
    @blp.errors(404, 429)
    def post(self, body: dict) -> dict:
        """Send a new PIN for an application to the phone or e-mail given in it (never in this answer);
        the old PIN stops working and the code's sign-in lock is lifted. At most 3 in 24 hours."""
        return {"sent": True, "channels": reissue_pin(body["code"]), "message": PIN_SENT}
