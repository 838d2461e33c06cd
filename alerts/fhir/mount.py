"""``install(app, registry)``: the /fhir routes, their OperationOutcome errors and metrics on the console's app."""

from __future__ import annotations

from fastapi import FastAPI
from prometheus_client import CollectorRegistry

from alerts.fhir import errors, routes


def install(app: FastAPI, registry: CollectorRegistry) -> None:
    metrics = errors.FhirMetrics(registry)
    app.state.fhir_metrics = metrics
    errors.install_handler(app, metrics)
    app.include_router(routes.router)
