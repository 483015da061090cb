"""The ETL's guardrails as checks (HS703-HS706): each passes on the stack's own pull from recorded pages and
fails on the defect it guards against, seeded here: a dry run that writes, a re-run that rewrites what it
loaded, a metrics_daily day edited by hand, a natural key loaded twice."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from healstack import doctor
from healstack.context import Context
from healstack.etl import guardrails, loader
from healstack.etl.phase import pull, pull_one
from healstack.etl.run import RunResult
from healstack.etl.stack import Pullable, declared
from healstack.registry import Phase
from healstack.results import Outcome


@pytest.fixture
def ctx(migrated_db, test_settings) -> Context:
    return Context(migrated_db, test_settings)


def _source(ctx: Context, name: str) -> Pullable:
    return next(Pullable(s, True) for s in declared(ctx.settings) if s.name == name)


def _by_check(results: list, check: str) -> list:
    return [r for r in results if r.check_id == check]


def test_the_stacks_pull_passes_every_etl_guardrail(ctx):
    results = pull(ctx, embedded=True)
    assert {(r.check_id, r.outcome) for r in results} == {(c, Outcome.PASSED) for c in ("HS700", "HS703", "HS704")}
    assert len(_by_check(results, "HS704")) == 4  # events, source-a, source-b, shopify
    assert all(r.evidence["fixture_served"] and r.evidence["tuples_written"] == {} for r in _by_check(results, "HS703"))
    assert [r.outcome for r in guardrails.metrics_match_recompute(ctx)] == [Outcome.PASSED]
    assert {r.outcome for r in guardrails.natural_keys_unique(ctx)} == {Outcome.PASSED}


def _again(ctx: Context) -> Any:
    moment = datetime.now(UTC)

    def again(item: Pullable, dry_run: bool) -> tuple[str, RunResult | None]:
        return pull_one(ctx, item, moment, dry_run)
    return again


def test_a_dry_run_that_writes_fails_by_the_servers_counters(ctx, monkeypatch):
    item, again = _source(ctx, "source-a"), _again(ctx)
    real = loader.Loader.load
    monkeypatch.setattr(loader.Loader, "load", lambda self, rows, dry_run=False: real(self, rows, dry_run=False))
    found = guardrails.dry_run_writes_nothing(ctx, item, again)
    # the dry run's transaction was rolled back, so the loader's report and the table look untouched: only the
    # server's counters saw the writes
    assert found.outcome is Outcome.FAILED and "a dry run wrote to the target" in found.message
    assert found.evidence["tuples_written"]["spend"] > 0


def test_a_rerun_that_rewrites_what_it_loaded_fails(ctx, monkeypatch):
    item, again = _source(ctx, "shopify"), _again(ctx)
    again(item, False)
    calls = iter(range(10**6))
    monkeypatch.setattr(loader, "xxh3_128_digest", lambda data: next(calls).to_bytes(16, "big"))  # hashes never match
    found = guardrails.rerun_writes_nothing(ctx, item, again)
    assert found.outcome is Outcome.FAILED and found.evidence["tuples_written"]["orders"] >= 3
    assert found.message.startswith("an identical re-run wrote ")
    assert found.message.endswith("(the loader counted 3 rows as changed at the source)")


def test_metrics_edited_by_hand_fail_and_stay_as_they_were(ctx, conn):
    pull(ctx, embedded=True)
    day = conn.execute("update public.metrics_daily set spend = spend + 1 where platform = 'all'"
                       " and day = (select max(day) from public.metrics_daily) returning day, spend").fetchone()
    [found] = guardrails.metrics_match_recompute(ctx)
    assert found.outcome is Outcome.FAILED and found.evidence["days"] == [str(day[0])]
    assert found.message.startswith("1 rows of ") and f"(days {day[0]})" in found.message
    assert conn.execute("select spend from public.metrics_daily where platform = 'all' and day = %s",
                        [day[0]]).fetchone() == (day[1],)  # the check's recompute was rolled back


def test_metrics_without_any_load_are_not_evaluated(ctx):
    [found] = guardrails.metrics_match_recompute(ctx)
    assert found.outcome is Outcome.NOT_EVALUATED and found.message == "no source has loaded days"


def test_a_natural_key_loaded_twice_fails(ctx, conn):
    pull(ctx, embedded=True)
    conn.execute("alter table public.orders drop constraint orders_natural_key")
    conn.execute("insert into public.orders (project, shop_domain, order_id, placed_at, source_updated_at,"
                 " total_price, currency) select project, shop_domain, order_id, placed_at, source_updated_at,"
                 " total_price, currency from public.orders limit 1")
    found = {r.object: r for r in guardrails.natural_keys_unique(ctx)}
    assert found["public.orders"].outcome is Outcome.FAILED
    assert found["public.orders"].message == "1 natural keys (project, shop_domain, order_id) appear more than once"
    assert found["public.spend"].outcome is Outcome.PASSED


def test_the_doctor_recomputes_the_days_that_disagree(ctx, conn):
    pull(ctx, embedded=True)
    conn.execute("update public.metrics_daily set revenue = revenue + 5 where day = (select min(day)"
                 " from public.metrics_daily)")
    found = guardrails.metrics_match_recompute(ctx)
    [heal] = doctor.HEALS[Phase.ETL](ctx, found, True)
    assert heal.error is None and heal.phase is Phase.ETL and len(heal.statements) == 1
    assert [r.outcome for r in guardrails.metrics_match_recompute(ctx)] == [Outcome.PASSED]
