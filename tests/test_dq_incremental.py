"""Incremental data quality: rules declared incremental check only the rows past their high-water mark, store
the mark once the run completes, and over any sequence of batches find what a full run finds."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import psycopg
import pytest
from hypothesis import given
from hypothesis import strategies as st

from healstack.config import Settings
from healstack.db import connect, throwaway_database
from healstack.dq.incremental import load_marks
from healstack.dq.rules import load_table_file
from healstack.dq.runner import run_rules
from healstack.registry import Phase
from healstack.results import Outcome
from healstack.run import Run

TABLE = """
create table public.visits (
    id bigint generated always as identity primary key,
    user_id text,
    page text,
    parent bigint,
    occurred_at timestamptz not null,
    ingested_at timestamptz not null default clock_timestamp()
);
create index on public.visits (user_id, page);
create table public.pages (id bigint primary key);
insert into public.pages select generate_series(1, 10);
"""
RULES = """table = "public.visits"
[[rules]]
id = "visits.user_present"
type = "not_null"
column = "user_id"
incremental = "id"
[[rules]]
id = "visits.once_per_user_and_page"
type = "unique"
columns = ["user_id", "page"]
incremental = "id"
[[rules]]
id = "visits.parent_known"
type = "referential"
column = "parent"
to = "public.pages"
to_column = "id"
incremental = "id"
[[rules]]
id = "visits.fresh"
type = "freshness"
column = "occurred_at"
max_age_hours = 24
incremental = "ingested_at"
[[rules]]
id = "visits.page_known"
type = "accepted_values"
column = "page"
values = ["home", "pricing", "docs", "blog"]
"""
INSERT = ("insert into public.visits (user_id, page, parent, occurred_at) values (%s, %s, %s, now() - %s * interval"
          " '1 hour')")


@pytest.fixture(scope="module")
def rules_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    directory = tmp_path_factory.mktemp("dq")
    (directory / "visits.toml").write_text(RULES)
    return directory


@pytest.fixture(scope="module")
def rules(rules_dir: Path) -> list[Any]:
    return load_table_file(rules_dir / "visits.toml")


@pytest.fixture(scope="module")
def property_db(pg_server: str, migrated_template: str) -> Any:
    with throwaway_database(pg_server, "dq_incremental", template=migrated_template) as dsn:
        yield dsn


def _insert(conn: psycopg.Connection[Any], rows: list[tuple[Any, ...]]) -> None:
    for row in rows:
        conn.execute(INSERT, row)


def _run(conn: psycopg.Connection[Any], rules: list[Any], marks: dict | None = None) -> dict[str, Any]:
    reached: dict[str, Any] = {}
    results = run_rules(conn, rules, marks, reached)
    return {"results": {r.check_id: r for r in results}, "reached": reached}


def _phase(dsn: str, settings: Settings, *, finished: bool = True) -> dict[str, Any]:
    """The data-quality phase of one run against ``dsn``, its marks stored when the run finishes."""
    run = Run(settings.with_(database_url=dsn))
    try:
        results = {r.check_id: r for r in run.results(Phase.DQ)}
        if finished:
            run.store_marks()
        return results
    finally:
        run.close()


def test_an_incremental_run_checks_only_the_rows_past_its_mark(migrated_db, rules, rules_dir, test_settings):
    settings = test_settings.with_(dq_rules=rules_dir)
    with connect(migrated_db, autocommit=True) as conn:
        conn.execute(TABLE)
        _insert(conn, [("u1", "home", 1, 1), ("u2", "docs", 2, 2), (None, "home", 3, 3)])
        first = _phase(migrated_db, settings)
        assert first["visits.user_present"].evidence["rows_tested"] == 3
        assert "first run, every row" in first["visits.user_present"].message
        marks = load_marks(conn, rules)
        assert marks["visits.user_present"].mark == "3"
        # a new batch: a duplicate of an old row's key, an unknown parent, a late row with an old timestamp
        _insert(conn, [("u1", "home", 4, 400), ("u4", "blog", 99, 500)])
        second = _phase(migrated_db, settings)
    assert second["visits.user_present"].evidence["rows_tested"] == 2  # only the new rows
    assert second["visits.user_present"].outcome is Outcome.PASSED  # the old null was found by the first run
    assert second["visits.user_present"].evidence["after"] == "3"
    unique = second["visits.once_per_user_and_page"]
    assert unique.outcome is Outcome.FAILED and unique.evidence["details"]["duplicate_groups"] == 1
    assert [(s["user_id"], s["rows"]) for s in unique.evidence["samples"]] == [("u1", 2)]
    assert "proposed_index" not in unique.evidence  # (user_id, page) is indexed
    parent = second["visits.parent_known"]
    assert parent.outcome is Outcome.FAILED and [s["parent"] for s in parent.evidence["samples"]] == [99]
    # freshness remembers what it saw: the new rows are old, the latest timestamp is still an hour ago
    assert second["visits.fresh"].outcome is Outcome.PASSED
    assert second["visits.page_known"].evidence["mode"] == "full"  # not declared incremental


def test_a_run_that_does_not_finish_moves_no_mark(migrated_db, rules, rules_dir, test_settings):
    settings = test_settings.with_(dq_rules=rules_dir)
    with connect(migrated_db, autocommit=True) as conn:
        conn.execute(TABLE)
        _insert(conn, [("u1", "home", 1, 1)])
        _phase(migrated_db, settings, finished=False)  # killed before its results were recorded
        assert load_marks(conn, rules) == {}
        _phase(migrated_db, settings)
        assert load_marks(conn, rules)["visits.user_present"].mark == "1"


def test_without_new_rows_nothing_is_read_and_freshness_still_ages(migrated_db, rules):
    with connect(migrated_db, autocommit=True) as conn:
        conn.execute(TABLE)
        _insert(conn, [("u1", "home", 1, 30)])
        first = _run(conn, rules, {})
        again = _run(conn, rules, first["reached"])
    assert again["results"]["visits.user_present"].evidence["rows_tested"] == 0
    assert again["reached"]["visits.user_present"] == first["reached"]["visits.user_present"]
    assert again["results"]["visits.fresh"].outcome is Outcome.FAILED  # 30 hours old, no newer row


def test_a_full_run_reads_every_row_and_moves_no_mark(migrated_db, rules_dir, test_settings):
    with connect(migrated_db, autocommit=True) as conn:
        conn.execute(TABLE)
        _insert(conn, [("u1", "home", 1, 1), (None, "home", 1, 1)])
        full = _phase(migrated_db, test_settings.with_(dq_rules=rules_dir, dq_mode="full"))
        assert conn.execute("select to_regclass('healstack.dq_marks')").fetchone() == (None,)  # no mark kept
    assert full["visits.user_present"].evidence["mode"] == "full"
    assert full["visits.user_present"].outcome is Outcome.FAILED


def test_a_rule_that_breaks_keeps_its_old_mark(migrated_db, rules):
    with connect(migrated_db, autocommit=True) as conn:
        conn.execute(TABLE)
        _insert(conn, [("u1", "home", 1, 1)])
        first = _run(conn, rules, {})
        _insert(conn, [("u2", "docs", 1, 1)])
        conn.execute("drop table public.pages")  # the referential rule's query now fails
        again = _run(conn, rules, first["reached"])
    assert again["results"]["visits.parent_known"].outcome is Outcome.ERROR
    assert "visits.parent_known" not in again["reached"]
    assert again["reached"]["visits.user_present"].mark == "2"


def test_a_missing_index_on_the_key_is_proposed(migrated_db, rules):
    with connect(migrated_db, autocommit=True) as conn:
        conn.execute(TABLE)
        conn.execute("drop index public.visits_user_id_page_idx")
        _insert(conn, [("u1", "home", 1, 1)])
        result = _run(conn, rules, {})["results"]["visits.once_per_user_and_page"]
    assert result.evidence["proposed_index"] == 'create index concurrently on "public"."visits" ("user_id", "page")'


# a batch: rows (user, page, parent, hours ago) and ids of earlier rows to delete
ROW = st.tuples(st.sampled_from(["u1", "u2", "u3", None]), st.sampled_from(["home", "docs"]),
                st.sampled_from([1, 2, 77]), st.integers(0, 48))
BATCH = st.tuples(st.lists(ROW, max_size=4), st.lists(st.integers(1, 30), max_size=2))


def _findings(results: list[Any]) -> set[tuple[str, str]]:
    """Each violation by rule and what identifies it: the row's id, or a duplicate group's key."""
    found = set()
    for r in results:
        for s in r.evidence.get("samples") or []:
            key = f"{s['user_id']}/{s['page']}" if r.check_id == "visits.once_per_user_and_page" else str(s["id"])
            found.add((r.check_id, key))
    return found


@pytest.mark.slow
@given(batches=st.lists(BATCH, min_size=1, max_size=4))
def test_incremental_findings_add_up_to_the_full_runs(property_db, rules, batches):
    """Over batches of new rows (duplicates spanning old and new rows, late rows with old timestamps) and
    deletes: every finding of a full run at the end was found incrementally, and an incremental finding the
    full run lacks concerns a row deleted since."""
    if True:
        with connect(property_db, autocommit=True) as conn:
            conn.execute("drop table if exists public.visits, public.pages")
            conn.execute(TABLE)
            reached: dict[str, Any] = {}
            union: set[tuple[str, str]] = set()
            for rows, deletions in batches:
                _insert(conn, rows)
                conn.execute("delete from public.visits where id = any(%s)", [deletions])
                marks = dict(reached)
                union |= _findings(run_rules(conn, rules, marks, reached))
            full = _findings(run_rules(conn, rules))
            alive = {str(i) for (i,) in conn.execute("select id from public.visits")}
            groups = {f"{u}/{p}" for u, p in conn.execute("select user_id, page from public.visits group by 1, 2"
                                                           " having count(*) > 1")}
        assert full <= union
        assert all(key not in alive and key not in groups for _, key in union - full)
