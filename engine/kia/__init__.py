"""The SOP's domain: applications, access, documents, identity rules, SIAK, verification, routing, distribution."""
