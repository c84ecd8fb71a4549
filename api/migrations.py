"""Migration of running applications to another version of their process (process owners)."""

from __future__ import annotations

from flask.views import MethodView

from engine.kia.access import require_role
from engine.workflow import migration

from .auth import current_principal
from .extensions import db
from .http import Blueprint
from .schemas import MigrationRequest, MigrationResult

blp = Blueprint("migrations", __name__, url_prefix="/api/v1/processes", description="Migration of running applications")


def run_migration(key: str, args: dict, actor: str) -> dict:
    """Plan and run (or dry-run) one migration; the shape both the API and the owner's page show."""
    plan = migration.plan(db.session, key, args["from_version"], args["to_version"], args.get("mapping"))
    codes = None if args["applications"] == "all" else args["applications"]
    outcomes = migration.migrate(db.session, plan, codes, actor=actor, dry_run=args["dry_run"])
    db.session.rollback()  # a dry run wrote nothing; an execution committed each application itself
    items = [
        {
            "code": o.business_key,
            "from_version": o.from_version,
            "to_version": o.to_version,
            "movable": o.movable,
            "moved": o.moved,
            "reason": o.reason,
            "current_steps": o.current_steps,
        }
        for o in outcomes
    ]
    return {
        "process_key": key,
        "from_version": args["from_version"],
        "to_version": args["to_version"],
        "dry_run": args["dry_run"],
        "total": len(items),
        "movable": sum(o.movable for o in outcomes),
        "moved": sum(o.moved for o in outcomes),
        "items": items,
    }


@blp.route("/<key>/migrations")
class Migrations(MethodView):
    @blp.arguments(MigrationRequest)
    @blp.response(200, MigrationResult)
    @blp.errors(401, 403, 404, 415, 422)
    def post(self, args: dict, key: str) -> dict:
        """Move running applications from one version to another (process owners). Elements are paired
        by id (``mapping`` overrides: old id -> new id). ``dry_run`` reports per application whether it
        can move and why not, and changes nothing. Executing moves each application in its own
        transaction, keeping its task ids, claims, deadlines and escalation levels; one that cannot move
        stays on its version untouched."""
        principal = current_principal()
        require_role(principal, "owner")
        return run_migration(key, args, principal.name)
