"""The SOP's domain: applications, access, documents, identity rules, SIAK, verification, routing, distribution.

Importing it gives the workflow runtime the SOP's configuration (``engine.kia.process``)."""

from engine.kia import process  # noqa: F401
