"""What every console route needs, kept on ``app.state.console`` by ``alerts.console.install``."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import psycopg
from fastapi import Request

from alerts.broadcast import Broadcaster
from alerts.console.settings import ConsoleSettings


@dataclass(frozen=True, slots=True)
class Console:
    connect: Callable[[], psycopg.Connection]
    broadcaster: Broadcaster
    settings: ConsoleSettings


def console(request: Request) -> Console:
    ctx: Console = request.app.state.console
    return ctx
