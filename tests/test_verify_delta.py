"""Parity reports exactly what was removed; the delta restores it, once, and changes nothing the second time."""

from __future__ import annotations

import re
import subprocess
import tempfile
import uuid
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st
from psycopg import sql
from psycopg.conninfo import conninfo_to_dict, make_conninfo

from healstack import catalog
from healstack.context import Context
from healstack.db import connect, throwaway_database
from healstack.delta import plan_delta, render_delta
from healstack.embedded import default_bindir
from healstack.evidence import EvidenceLog
from healstack.migrate.files import Migration
from healstack.migrate.runner import apply, execute
from healstack.results import Outcome
from healstack.verify.parity import parity_results
from healstack.verify.run import parity

# (what is dropped, how) — every kind the convergence property covers
DROPS = {
    "table facts": "drop table public.facts cascade",
    "table agent_feedback": "drop table public.agent_feedback cascade",
    "column events.user_id": "alter table public.events drop column user_id",
    "column orders.financial_status": "alter table public.orders drop column financial_status",
    "column spend.currency": "alter table public.spend drop column currency cascade",
    "index idx_metrics_day": "drop index public.idx_metrics_day",
    "index agent_feedback_labels_gin": "drop index public.agent_feedback_labels_gin",
    "index observability_logs_errors_idx": "drop index public.observability_logs_errors_idx",
    "policy agent_queries_update_own_project": "drop policy agent_queries_update_own_project on public.agent_queries",
    "policy facts_insert_own_project": "drop policy facts_insert_own_project on public.facts",
    "policy events_service_role_all": "drop policy events_service_role_all on public.events",
    "rls enabled spend": "alter table public.spend disable row level security",
    "rls forced orders": "alter table public.orders no force row level security",
    "function system_healthcheck": "drop function public.system_healthcheck()",
    "function upsert_spend": "drop function public.upsert_spend(jsonb)",
    "trigger orders_set_updated_at": "drop trigger orders_set_updated_at on public.orders",
    "view decision_sync_events": "drop view public.decision_sync_events",
    "constraint spend_natural_key": "alter table public.spend drop constraint spend_natural_key",
    "grant select facts": "revoke select on public.facts from authenticated",
}


@pytest.fixture(scope="module")
def expected(pg_server, migrated_template):
    with connect(make_conninfo(pg_server, dbname=migrated_template)) as conn:
        return Expected(catalog.take(conn))


class Expected:
    """The migrated template's catalog; a short repr keeps hypothesis's report readable."""

    def __init__(self, snapshot: catalog.Snapshot) -> None:
        self.snapshot = snapshot

    def __repr__(self) -> str:
        return "Expected(migrated template)"


def _clone(pg_server: str, migrated_template: str, name: str):
    return throwaway_database(pg_server, name, template=migrated_template)


@pytest.mark.slow
@given(dropped=st.sets(st.sampled_from(sorted(DROPS)), min_size=1, max_size=5))
def test_delta_converges(pg_server, migrated_template, expected, dropped):
    with _clone(pg_server, migrated_template, "converge") as dsn, connect(dsn, autocommit=True) as conn:
        for name in sorted(dropped):
            conn.execute(DROPS[name])
        damaged = catalog.take(conn)
        differences = catalog.diff(expected.snapshot, damaged)
        # verify reports the removal of each dropped object, and nothing that was not removed
        described = " ".join(d.key for d in differences)
        for name in dropped:
            assert name.split()[-1].split(".")[-1] in described, name
        assert all(d.change is not catalog.Change.UNEXPECTED for d in differences)
        results = parity_results(expected.snapshot, damaged)  # every difference, a whole table's parts with it
        covered = {r.object for r in results} | {part for r in results for part in r.evidence.get("with_it", [])}
        assert covered == {f"{d.kind} {d.key}" for d in differences}
        delta = plan_delta(expected.snapshot, damaged)
        assert delta.refused == []
        text = render_delta(delta)
        conn.execute(text.encode())
        repaired = catalog.take(conn)
        assert catalog.diff(expected.snapshot, repaired) == []
        conn.execute(text.encode())
        assert catalog.diff(repaired, catalog.take(conn)) == []


def test_no_difference_means_an_empty_delta(expected):
    delta = plan_delta(expected.snapshot, expected.snapshot)
    assert delta.differences == 0 and delta.count == 0


def test_what_cannot_be_fixed_is_refused_not_dropped(pg_server, migrated_template, expected):
    with _clone(pg_server, migrated_template, "refused") as dsn, connect(dsn, autocommit=True) as conn:
        conn.execute("create table public.stray (id int primary key)")
        conn.execute("alter table public.orders alter column order_name type varchar(40)")
        conn.execute("alter table public.events alter column user_id set not null")
        delta = plan_delta(expected.snapshot, catalog.take(conn))
        text = render_delta(delta)
    assert "drop " not in text.lower().replace("drop not null", "")
    refused = "\n".join(delta.refused)
    assert "relations public.stray: unexpected" in refused
    assert "columns public.orders.order_name: type differs" in refused
    assert "columns public.events.user_id: not_null differs" in refused
    assert "-- NOT FIXED" in text


def test_online_delta_builds_indexes_concurrently_and_validates_fks_separately(
        pg_server, migrated_template, test_settings, tmp_path):
    with _clone(pg_server, migrated_template, "online") as dsn, connect(dsn, autocommit=True) as conn:
        conn.execute("create table public.parent_x (id int primary key)")
        conn.execute("create table public.child_x (id int primary key, parent_id int"
                     " constraint child_x_parent_fk references public.parent_x (id))")
        conn.execute("create index child_x_parent_idx on public.child_x (parent_id)")
        wanted = catalog.take(conn)
        conn.execute("alter table public.child_x drop constraint child_x_parent_fk")
        conn.execute("drop index public.idx_metrics_day")
        text = render_delta(plan_delta(wanted, catalog.take(conn), online=True), online=True)
        assert "-- healstack: no-transaction" in text and "set lock_timeout" in text
        assert "create index concurrently if not exists idx_metrics_day" in text
        assert "FOREIGN KEY (parent_id) REFERENCES public.parent_x(id) NOT VALID" in text
        assert "alter table \"public\".\"child_x\" validate constraint \"child_x_parent_fk\";" in text
        path = tmp_path / "0099_online_delta.sql"
        path.write_text(text)
        execute(conn, Migration("0099", "online_delta", path), test_settings, EvidenceLog(tmp_path, "delta"))
        assert catalog.diff(wanted, catalog.take(conn)) == []


def _normalised_dump(dsn: str, bindir: Path) -> set[str]:
    info = conninfo_to_dict(dsn)
    out = subprocess.run([str(bindir / "pg_dump"), "--schema-only", "--no-owner", "-h", str(info["host"]),
                          "-p", str(info["port"]), "-U", str(info["user"]), str(info["dbname"])],
                         capture_output=True, text=True, check=True).stdout
    # drop comments and psql meta-commands (pg_dump 18 writes a random \restrict key), keep statements
    body = "\n".join(line for line in out.splitlines() if not line.startswith(("--", "\\")))
    return {s.strip() for s in re.split(r";\n", body)
            if s.strip() and not s.strip().startswith(("SET ", "SELECT pg_catalog.set_config"))}


@pytest.mark.parametrize("dropped", ["index agent_feedback_labels_gin", "policy facts_insert_own_project",
                                     "rls forced orders", "grant select facts", "column events.user_id"])
def test_snapshot_agrees_with_pg_dump(pg_server, migrated_template, dropped):
    """An independent oracle: where pg_dump sees a difference, so does the snapshot, and the reverse."""
    import os
    bindir = Path(os.environ.get("HEALSTACK_PG_BINDIR") or default_bindir())
    if not (bindir / "pg_dump").exists():
        pytest.skip(f"no pg_dump in {bindir}")
    with _clone(pg_server, migrated_template, "oracle_a") as a, _clone(pg_server, migrated_template, "oracle_b") as b:
        with connect(a) as ca, connect(b) as cb:
            assert catalog.diff(catalog.take(ca), catalog.take(cb)) == []
        assert _normalised_dump(a, bindir) == _normalised_dump(b, bindir)
        with connect(b, autocommit=True) as cb:
            cb.execute(DROPS[dropped])
        with connect(a) as ca, connect(b) as cb:
            assert catalog.diff(catalog.take(ca), catalog.take(cb)) != []
        assert _normalised_dump(a, bindir) != _normalised_dump(b, bindir)


def test_owners_and_grants_compare_relative_to_each_sides_migration_role(pg_server, migrated_template,
                                                                        test_settings):
    """A target migrated by its own role, checked by another: its owners and grants are not differences.
    (Before, every owned object and implicit owner grant was: 406 false differences.)"""
    with connect(pg_server, autocommit=True) as admin:
        if not admin.execute("select 1 from pg_roles where rolname = 'migrator'").fetchone():
            admin.execute("create role migrator login nocreatedb")
    name = f"owned_{uuid.uuid4().hex[:8]}"
    with throwaway_database(pg_server, name) as dsn:
        with connect(dsn, autocommit=True) as admin:
            # the API roles exist server-wide (the template's build made them): migrator prepares the rest
            admin.execute(sql.SQL("alter database {} owner to migrator").format(sql.Identifier(name)))
        apply(make_conninfo(dsn, user="migrator"), test_settings)
        results = parity(Context(dsn, test_settings))  # checked as postgres, whose reference postgres owns
        assert [(r.check_id, r.outcome) for r in results] == [("HS300", Outcome.PASSED)], [
            r.line() for r in results[:5]]
        with connect(dsn) as conn:
            assert conn.execute("select relowner::regrole::text from pg_class where oid = 'public.spend'::regclass"
                                ).fetchone() == ("migrator",)


def test_parity_leaves_no_temporary_folder_or_database_behind(migrated_db, pg_server, test_settings):
    """Every verify used to leave a /tmp/healstack-ref-* folder (157 after an afternoon)."""
    temp = Path(tempfile.gettempdir())
    before = set(temp.glob("healstack-ref-*"))
    parity(Context(migrated_db, test_settings))
    assert set(temp.glob("healstack-ref-*")) == before
    with connect(pg_server) as conn:
        assert conn.execute("select count(*) from pg_database where datname like 'healstack_reference_%'"
                            ).fetchone() == (0,)
