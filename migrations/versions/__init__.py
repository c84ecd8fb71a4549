"""Alembic revision scripts (a package only so that the project's packaging ships them)."""
