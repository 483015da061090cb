"""Loading: idempotent re-runs rewrite nothing, dry runs write nothing, a crash between batches resumes
without loss or duplicates, two runs of one source never overlap, affected metrics are recomputed."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date

import psycopg
import pytest

from healstack import catalog
from healstack.errors import ConfigError
from healstack.etl import run as run_module
from healstack.etl.loader import Loader, lock_source
from healstack.etl.run import run_source
from healstack.etl.sources import Page, Window

WINDOW = Window(date(2025, 3, 8), date(2025, 3, 9))


def event(i: int, name: str = "page_view") -> dict:
    return {"project": "occ", "event_id": f"e{i}", "name": name, "user_id": f"u{i % 3}",
            "occurred_at": f"2025-03-09T12:{i % 60:02d}:00Z", "properties": {"i": i}, "source": "events_api"}


@dataclass
class Client:
    attempts: list = field(default_factory=list)


class FakeSource:
    """Pages from memory; resumes after the page its saved cursor names; can crash after page N."""

    name, table = "events", "events"

    def __init__(self, pages: list[list[dict]], crash_after: int | None = None) -> None:
        self.pages_data, self.crash_after, self.client = pages, crash_after, Client()

    def pages(self, window, cursor):
        start = (cursor or {}).get("page", -1) + 1
        for n in range(start, len(self.pages_data)):
            if self.crash_after is not None and n > self.crash_after:
                raise RuntimeError("connection reset by peer")
            yield Page(self.pages_data[n], {"page": n})


PAGES = [[event(i) for i in range(0, 50)], [event(i) for i in range(50, 100)], [event(i) for i in range(100, 120)]]


def _events(conn) -> list[tuple]:
    return conn.execute("select event_id, name, xmin::text from public.events order by event_id").fetchall()


def test_identical_rerun_rewrites_no_row(conn, migrated_db):
    first = run_source(migrated_db, FakeSource(PAGES), WINDOW)
    assert (first.counts.inserted, first.counts.updated, first.counts.pages) == (120, 0, 3)
    before = _events(conn)
    conn.execute("delete from public.etl_cursors")  # pull the same pages again
    again = run_source(migrated_db, FakeSource(PAGES), WINDOW)
    assert (again.counts.inserted, again.counts.updated, again.counts.unchanged) == (0, 0, 120)
    assert _events(conn) == before
    changed = [[event(0, "purchase")]]
    conn.execute("delete from public.etl_cursors")
    assert run_source(migrated_db, FakeSource(changed), WINDOW).counts.updated == 1


def test_duplicates_within_a_page_keep_the_last(conn, migrated_db):
    run_source(migrated_db, FakeSource([[event(1, "first"), event(1, "last")]]), WINDOW)
    assert conn.execute("select name from public.events").fetchall() == [("last",)]


def test_dry_run_writes_nothing(conn, migrated_db):
    run_source(migrated_db, FakeSource([PAGES[0]]), WINDOW)
    conn.execute("delete from public.etl_cursors")
    before = catalog.take(conn, ignore_schemas=())
    tables = "select (select count(*) from public.events), (select count(*) from public.etl_runs)," \
             " (select count(*) from public.etl_cursors), (select sum(xmin::text::bigint) from public.events)"
    state = conn.execute(tables).fetchone()
    result = run_source(migrated_db, FakeSource([[*PAGES[0][:10], event(500)], [event(0, "purchase")]]), WINDOW,
                        dry_run=True)
    assert (result.counts.inserted, result.counts.updated, result.counts.unchanged) == (1, 1, 10)
    assert conn.execute(tables).fetchone() == state
    assert catalog.diff(before, catalog.take(conn, ignore_schemas=())) == []


@pytest.fixture(params=[False, True], ids=["one-connection", "split-pages"])
def split(request, monkeypatch) -> bool:
    """Run the test as is, and again with every first-load page split across two connections."""
    if request.param:
        monkeypatch.setattr(Loader, "SPLIT_PAGES_FROM", 2)
    return request.param


def test_crash_between_batches_then_resume(conn, migrated_db, split):
    with pytest.raises(RuntimeError):
        run_source(migrated_db, FakeSource(PAGES, crash_after=0), WINDOW)
    assert conn.execute("select count(*) from public.events").fetchone() == (50,)
    assert conn.execute("select cursor_state from public.etl_cursors").fetchone() == ({"page": 0},)
    failed = conn.execute("select status, pages, rows_inserted, error from public.etl_runs").fetchone()
    assert failed == ("failed", 1, 50, "connection reset by peer")
    resumed = run_source(migrated_db, FakeSource(PAGES), WINDOW)
    assert resumed.counts.inserted == 70 and resumed.counts.pages == 2
    assert conn.execute("select count(*), count(distinct event_id) from public.events").fetchone() == (120, 120)


def test_a_second_run_of_the_same_source_is_turned_away(conn, migrated_db):
    lock_source(conn, "events")
    with pytest.raises(ConfigError, match="another run of events is in progress"):
        run_source(migrated_db, FakeSource(PAGES), WINDOW)


def test_ledger_row_tells_what_happened(conn, migrated_db):
    source = FakeSource(PAGES)
    source.client.attempts = [type("A", (), {"failure": "transient: HTTP 503", "waited_s": 0.4})()]
    run_source(migrated_db, source, WINDOW)
    row = conn.execute("select source, status, window_start::date, window_end::date, pages, rows_fetched,"
                       " rows_inserted, rows_updated, rows_unchanged, attempts, error, duration_ms >= 0"
                       " from public.etl_runs").fetchone()
    assert row == ("events", "succeeded", date(2025, 3, 8), date(2025, 3, 9), 3, 120, 120, 0, 0, 1,
                   "1 failed attempts retried: transient: HTTP 503 (waited 0.4 s)", True)


class SpendSource(FakeSource):
    name, table = "source-a", "spend"


def test_spend_load_recomputes_the_affected_days(conn, migrated_db):
    rows = [{"project": "occ", "platform": "meta", "account_id": "1", "campaign_id": "c", "dt": "2025-03-09",
             "account_timezone": "America/Toronto", "currency": "USD", "spend": "10.00", "impressions": "100",
             "clicks": "5", "conversions": "1", "conversion_value": "30"}]
    result = run_source(migrated_db, SpendSource([rows]), WINDOW)
    assert result.days == (date(2025, 3, 9), date(2025, 3, 9)) and result.metrics_rows == 2
    assert conn.execute("select platform, spend from public.metrics_daily order by 1").fetchall() == [
        ("all", 10), ("meta", 10)]


def spend_row(campaign: str) -> dict:
    return {"project": "occ", "platform": "meta", "account_id": "1", "campaign_id": campaign, "dt": "2025-03-09",
            "account_timezone": "America/Toronto", "currency": "USD", "spend": "1.00", "impressions": "10",
            "clicks": "1", "conversions": "0", "conversion_value": "0"}


def test_a_load_that_grows_a_table_refreshes_its_statistics(conn, migrated_db):
    # planned against the row count from before a first load, the metrics recompute sorted it on disk
    def planner_rows() -> float:
        return conn.execute("select reltuples from pg_class where oid = 'public.spend'::regclass").fetchone()[0]
    assert planner_rows() < 0  # never analyzed
    run_source(migrated_db, SpendSource([[spend_row(f"c{i}") for i in range(200)]]), WINDOW)
    assert planner_rows() == 200
    conn.execute("delete from public.etl_cursors")
    run_source(migrated_db, SpendSource([[spend_row(f"c{i}") for i in range(200, 205)]]), WINDOW)
    assert planner_rows() == 200  # 5 rows on 200: less than a tenth, left to autovacuum


def test_two_concurrent_runs_never_duplicate(conn, migrated_db):
    import threading

    inside, second_done = threading.Event(), threading.Event()
    outcome: list[int] = []

    class Held(FakeSource):
        """Holds the first run inside its lock until the second run has tried."""

        def pages(self, window, cursor):
            inside.set()
            second_done.wait(timeout=30)
            yield from super().pages(window, cursor)

    first = threading.Thread(target=lambda: outcome.append(run_source(migrated_db, Held(PAGES), WINDOW)
                                                           .counts.inserted))
    first.start()
    assert inside.wait(timeout=30)
    try:
        with pytest.raises(ConfigError, match="another run of events is in progress"):
            run_source(migrated_db, FakeSource(PAGES), WINDOW)
    finally:
        second_done.set()
        first.join(timeout=30)
    assert outcome == [120]
    assert conn.execute("select count(*), count(distinct event_id) from public.events").fetchone() == (120, 120)


def test_a_rerun_sends_no_unchanged_row(conn, migrated_db, monkeypatch):
    run_source(migrated_db, FakeSource(PAGES), WINDOW)
    assert conn.execute("select count(source_hash) from public.events").fetchone() == (120,)
    copied: list[int] = []
    real = Loader._write

    def counting_write(self, table, rows, conn=None):
        rows = list(rows)
        copied.append(len(rows))
        return real(self, table, rows, conn)
    monkeypatch.setattr(Loader, "_write", counting_write)
    sent = []
    real_copy = psycopg.Copy.write
    monkeypatch.setattr(psycopg.Copy, "write", lambda self, data: sent.append(data) or real_copy(self, data))
    conn.execute("delete from public.etl_cursors")
    again = run_source(migrated_db, FakeSource(PAGES), WINDOW)
    assert (again.counts.inserted, again.counts.updated, again.counts.unchanged) == (0, 0, 120)
    assert sent == [] and sum(copied) == 120  # every row hashed, none sent


def test_a_row_edited_outside_the_etl_is_compared_in_full_and_restored(conn, migrated_db):
    run_source(migrated_db, FakeSource(PAGES), WINDOW)
    conn.execute("update public.events set name = 'tampered' where event_id = 'e7'")
    assert conn.execute("select source_hash from public.events where event_id = 'e7'").fetchone() == (None,)
    conn.execute("delete from public.etl_cursors")
    again = run_source(migrated_db, FakeSource(PAGES), WINDOW)
    assert (again.counts.inserted, again.counts.updated, again.counts.unchanged) == (0, 1, 119)
    assert conn.execute("select name, source_hash is not null from public.events where event_id = 'e7'"
                        ).fetchone() == ("page_view", True)


def test_a_first_load_meeting_existing_rows_falls_back_to_the_merge(conn, migrated_db, split):
    run_source(migrated_db, FakeSource([PAGES[0]]), WINDOW)
    # split, the existing rows fall in both halves (e3 at index 1 goes to the helper connection)
    mixed = [[event(200), event(3, "purchase"), *PAGES[0][10:20]], [event(201)]]
    conn.execute("delete from public.etl_cursors")
    result = run_source(migrated_db, FakeSource(mixed), WINDOW)
    assert (result.counts.inserted, result.counts.updated, result.counts.unchanged) == (2, 1, 10)
    assert conn.execute("select count(*), count(distinct event_id) from public.events").fetchone() == (52, 52)
    assert conn.execute("select name from public.events where event_id = 'e3'").fetchone() == ("purchase",)


def test_long_first_load_pages_are_copied_by_two_connections(conn, migrated_db, monkeypatch):
    monkeypatch.setattr(Loader, "SPLIT_PAGES_FROM", 2)
    helpers = []
    real_connect = run_module.connect

    def recording_connect(dsn, **options):
        opened = real_connect(dsn, **options)
        if not options:  # the helper asks for a plain connection; the run's own is autocommit
            helpers.append(opened)
        return opened
    monkeypatch.setattr(run_module, "connect", recording_connect)
    first = run_source(migrated_db, FakeSource(PAGES), WINDOW)
    assert (first.counts.inserted, first.counts.updated, first.counts.unchanged) == (120, 0, 0)
    # each page is two transactions (the helper's half, then this connection's half with the cursor)
    assert conn.execute("select count(*), count(distinct event_id), count(distinct xmin::text)"
                        " from public.events").fetchone() == (120, 120, 6)
    conn.execute("delete from public.etl_cursors")
    again = run_source(migrated_db, FakeSource(PAGES), WINDOW)
    assert (again.counts.inserted, again.counts.updated, again.counts.unchanged) == (0, 0, 120)
    # the helper was closed by the client; its backend's exit is asynchronous, so pg_stat_activity is no proof
    assert helpers and all(helper.closed for helper in helpers)


def test_a_helper_connection_that_cannot_open_leaves_the_load_to_one_connection(conn, migrated_db, monkeypatch):
    monkeypatch.setattr(Loader, "SPLIT_PAGES_FROM", 2)
    real_connect = run_module.connect

    def no_second_connection(dsn, **options):
        if not options:  # the helper asks for a plain connection; the run's own is autocommit
            raise ConfigError("cannot connect: remaining connection slots are reserved")
        return real_connect(dsn, **options)
    monkeypatch.setattr(run_module, "connect", no_second_connection)
    result = run_source(migrated_db, FakeSource(PAGES), WINDOW)
    assert (result.counts.inserted, result.counts.pages) == (120, 3)
    assert conn.execute("select count(distinct xmin::text) from public.events").fetchone() == (3,)
