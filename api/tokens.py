"""POST /api/v1/auth/token: sign in (staff or applicant); POST /api/v1/auth/revoke: sign out."""

from __future__ import annotations

from flask import current_app
from flask.views import MethodView

from . import ratelimit
from .auth import authenticate_applicant, authenticate_staff, bearer_token, issue_token, revoke
from .errors import ApiError
from .extensions import db
from .http import Blueprint
from .schemas import TokenRequest, TokenResponse

blp = Blueprint("auth", __name__, url_prefix="/api/v1/auth", description="Sign-in for staff and applicants")


@blp.route("/token")
class Token(MethodView):
    @blp.arguments(TokenRequest)
    @blp.response(200, TokenResponse)
    @blp.errors(401, 429)
    def post(self, body: dict) -> dict:
        """Exchange a user name and password, or an application code and PIN, for a bearer token."""
        if body.get("username") and body.get("password") is not None:
            ratelimit.limit("login", current_app.config["LOGIN_RATE_LIMIT"], key=body["username"][:64])
            user = authenticate_staff(body["username"], body["password"])
            if user is None:
                raise ApiError(401, "invalid_credentials", "Nama pengguna atau kata sandi salah.")
            token, ttl = issue_token(user=user)
            db.session.commit()
            return {"access_token": token, "token_type": "Bearer", "expires_in": ttl, "roles": sorted(user.role_set)}
        if body.get("code") and body.get("pin") is not None:
            ratelimit.limit("pin", current_app.config["LOGIN_RATE_LIMIT"])
            app = authenticate_applicant(body["code"], str(body["pin"]))
            if app is None:
                raise ApiError(401, "invalid_credentials", "Kode permohonan atau PIN salah.")
            token, ttl = issue_token(application=app)
            db.session.commit()
            return {"access_token": token, "token_type": "Bearer", "expires_in": ttl, "roles": ["applicant"]}
        raise ApiError(400, "bad_request", "Kirim username dan password, atau code dan pin.")


@blp.route("/revoke")
class Revoke(MethodView):
    @blp.response(204)
    @blp.errors(401)
    def post(self) -> None:
        """Revoke the bearer token used for this request."""
        token = bearer_token()
        if not token:
            raise ApiError(401, "unauthorized", "Silakan masuk terlebih dahulu.")
        revoke(token)
        db.session.commit()
