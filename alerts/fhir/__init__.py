"""FHIR R4 REST API (read + search, JSON) served by the console's app under /fhir.

Resources are built by the same builders as the console's FHIR export
(``alerts.fhir.observations``) and validated with fhir.resources; access
checks and audit are the console's (``alerts.console.access``, ``storage.audit``);
OAuth2 client-credentials tokens are console sessions narrowed by SMART scopes.
"""
