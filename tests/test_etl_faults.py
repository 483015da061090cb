"""Property: whatever transient faults hit the pages (429, 500, timeouts, resets, truncated JSON), the
final database equals the fault-free run, no row is duplicated, and the ledger counts every failed attempt."""

from __future__ import annotations

import json
from datetime import date

import httpx
import pytest
import respx
from hypothesis import given
from hypothesis import strategies as st
from repo import REPO

from healstack.db import connect, throwaway_database
from healstack.etl.http import SourceClient
from healstack.etl.run import run_source
from healstack.etl.sources import Window
from healstack.etl.sources.events import EventsConfig, EventsSource

PAGES = [json.loads((REPO / f"fixtures/events/page{n}.json").read_text()) for n in (1, 2)]
FAULTS = {
    "429": lambda: httpx.Response(429, headers={"Retry-After": "1"}),
    "500": lambda: httpx.Response(500),
    "timeout": lambda: httpx.ReadTimeout("timed out"),
    "reset": lambda: httpx.ConnectError("connection reset by peer"),
    "truncated": lambda: httpx.Response(200, content=b'{"data": [{"id": "ev-1", "na'),
}
SCHEDULE = st.lists(st.lists(st.sampled_from(sorted(FAULTS)), max_size=4), min_size=2, max_size=2)


def _source() -> EventsSource:
    return EventsSource(EventsConfig("https://events.test", "tok-faults-123456", "occ"),
                        SourceClient("events", "EVENTS_TOKEN", sleep=lambda _s: None))


def _state(dsn: str) -> list[tuple]:
    with connect(dsn) as conn:
        return conn.execute("select event_id, name, user_id, occurred_at, properties from public.events"
                            " order by event_id").fetchall()


@pytest.mark.slow
@given(schedule=SCHEDULE)
def test_faults_change_nothing_but_the_ledger(pg_server, migrated_template, schedule):
    responses = []
    for page, faults in zip(PAGES, schedule, strict=True):
        responses += [FAULTS[f]() for f in faults] + [httpx.Response(200, json=page)]
    with respx.mock, throwaway_database(pg_server, "etl_faults", template=migrated_template) as dsn:
        respx.get("https://events.test/events").side_effect = responses
        result = run_source(dsn, _source(), Window(date(2025, 3, 9), date(2025, 3, 9)))
        state = _state(dsn)
        with connect(dsn) as conn:
            ledger = conn.execute("select status, attempts, rows_inserted from public.etl_runs").fetchone()
    assert [row[0] for row in state] == ["ev-1", "ev-2", "ev-3", "ev-4"]
    assert result.counts.inserted == 4
    assert ledger == ("succeeded", sum(len(f) for f in schedule), 4)
