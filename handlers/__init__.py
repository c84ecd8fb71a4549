"""Service-task handlers the diagram calls by name. Importing this package registers them all."""

from . import notifications  # noqa: F401
