"""The database schema's history: Alembic revisions, run through Flask-Migrate (``kia db upgrade``).

``versions/`` holds one revision per schema change, the first (``baseline``) being the schema of the
stop-12 release. ``engine.ops.schema`` runs them without Flask; README "Schema migrations" says how to
add one."""
