"""Evaluations of different patients decided concurrently, each patient's in order.

Stream workers close every patient's 1-minute windows at the same minute
boundary, so candidates arrive in bursts; decided one after the other, the
last alarm of a burst would wait for all the others' database round trips.
Patients are independent (each decision locks only its own condition and
alarm rows), so a burst is split by patient over a few connections.
"""

from __future__ import annotations

import queue
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime
from typing import TypeVar

import psycopg

from alerts.suppression import Evaluation

T = TypeVar("T")


class ConnectionPool:
    """A fixed set of autocommit connections, opened on first use and reopened after errors."""

    def __init__(self, dsn: str, size: int) -> None:
        self._dsn = dsn
        self._free: queue.Queue[psycopg.Connection | None] = queue.Queue()
        for _ in range(size):
            self._free.put(None)
        self.size = size

    def run(self, work: Callable[[psycopg.Connection], T]) -> T:
        conn = self._free.get()
        try:
            if conn is None or conn.closed:
                conn = psycopg.connect(self._dsn, autocommit=True, connect_timeout=5)
            result = work(conn)
        except psycopg.Error:
            if conn is not None:
                conn.close()
            conn = None
            raise
        finally:
            self._free.put(conn)
        return result

    def close(self) -> None:
        while not self._free.empty():
            conn = self._free.get_nowait()
            if conn is not None:
                conn.close()


def by_patient(items: list[tuple[Evaluation, datetime]]) -> list[list[tuple[Evaluation, datetime]]]:
    """Group evaluations by patient, keeping each patient's order (and the groups in first-seen order)."""
    groups: dict[str, list[tuple[Evaluation, datetime]]] = {}
    for item in items:
        groups.setdefault(item[0].patient_id, []).append(item)
    return list(groups.values())


def run_groups(
    pool: ConnectionPool, executor: ThreadPoolExecutor, groups: list[list[tuple[Evaluation, datetime]]],
    decide: Callable[[psycopg.Connection, list[tuple[Evaluation, datetime]]], int],
) -> int:
    """Decide every group, ``pool.size`` at a time; the first database error is raised after all finished."""
    futures = [executor.submit(pool.run, lambda c, g=g: decide(c, g)) for g in groups]
    done, error = 0, None
    for f in futures:
        try:
            done += f.result()
        except psycopg.Error as e:
            error = error or e
    if error is not None:
        raise error
    return done
