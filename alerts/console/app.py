"""``install(app, connect, broadcaster)`` adds the console to the FastAPI app of ``alerts.http.create_app``:
API routes under /api (OpenAPI at /openapi.json, offline Swagger UI at /docs), the pages, static assets
and error handlers."""

from __future__ import annotations

from collections.abc import Callable
from importlib import resources

import psycopg
from fastapi import FastAPI
from fastapi.staticfiles import StaticFiles
from prometheus_client import CollectorRegistry

from alerts.broadcast import Broadcaster
from alerts.console import (
    docs,
    errors,
    pages,
    routes_admin,
    routes_alarm_config,
    routes_auth,
    routes_escalation,
    routes_export,
    routes_home,
    routes_patient,
    routes_ward,
)
from alerts.console.context import Console
from alerts.console.settings import ConsoleSettings
from alerts.fhir import mount as fhir


def _autocommit(connect: Callable[[], psycopg.Connection]) -> Callable[[], psycopg.Connection]:
    # Console code opens explicit transactions (read + audit row commit together); everything else autocommits.
    def open_() -> psycopg.Connection:
        conn = connect()
        conn.autocommit = True
        return conn

    return open_


def install(
    app: FastAPI, connect: Callable[[], psycopg.Connection], broadcaster: Broadcaster,
    settings: ConsoleSettings | None = None, registry: CollectorRegistry | None = None,
) -> None:
    app.state.console = Console(_autocommit(connect), broadcaster, settings or ConsoleSettings())
    errors.install_handlers(app)
    for module in (routes_auth, routes_ward, routes_alarm_config, routes_escalation, routes_patient, routes_export, routes_home,
                   routes_admin, pages):
        app.include_router(module.router)
    # The FHIR R4 API (alerts.fhir) shares the console's users, access checks and audit.
    fhir.install(app, registry if registry is not None else CollectorRegistry())
    docs.install(app)  # before /static: its assets live under /static/docs
    static = resources.files("alerts").joinpath("static")
    app.mount("/static", StaticFiles(directory=str(static)), name="static")
