"""Property: a run killed at any point (SIGKILL: no cleanup, no rollback of what was committed) loses nothing
and leaves nothing wrong. After the next run, spend, orders, events and metrics_daily equal a fault-free
run's, row for row, and the killed run's ledger row says it was interrupted.

The run happens in a forked child that kills itself when a drawn point is reached: mid-COPY, just before a
page commits, just after a page committed (before the metrics recompute), or inside the recompute."""

from __future__ import annotations

import os
import signal
from collections.abc import Callable, Iterator
from datetime import date, timedelta
from types import SimpleNamespace
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from healstack.db import connect, throwaway_database
from healstack.etl import loader as loader_module
from healstack.etl import metrics as metrics_module
from healstack.etl import run as run_module
from healstack.etl.loader import Loader
from healstack.etl.run import run_source
from healstack.etl.sources import Page, Window

WINDOW = Window(date(2025, 3, 1), date(2025, 3, 12))
DAYS = [WINDOW.since + timedelta(days=d) for d in range(12)]


class PagedSource:
    """Fixed pages from memory, resuming after the page its saved cursor names."""

    def __init__(self, name: str, table: str, pages: list[list[dict[str, Any]]]) -> None:
        self.name, self.table, self._pages = name, table, pages
        self.client = SimpleNamespace(attempts=[])

    def pages(self, window: Window, cursor: dict[str, Any] | None) -> Iterator[Page]:
        for n in range((cursor or {}).get("page", -1) + 1, len(self._pages)):
            yield Page(self._pages[n], {"page": n})


def _spend(page: int) -> list[dict[str, Any]]:
    return [{"project": "p", "platform": "meta", "account_id": "a1", "campaign_id": f"c{c}",
             "dt": DAYS[(page * 3 + c) % len(DAYS)].isoformat(), "account_timezone": "America/Toronto",
             "currency": "USD", "spend": f"{page + c}.50", "impressions": 100 * c, "clicks": c,
             "conversions": c % 3, "conversion_value": f"{c * 7}.00"} for c in range(8)]


def _orders(page: int) -> list[dict[str, Any]]:
    return [{"project": "p", "shop_domain": "s.myshopify.com", "order_id": page * 100 + o, "order_name": f"#{o}",
             # 03:30 UTC is the previous evening in Toronto: orders land on the Toronto day, not the UTC one
             "placed_at": f"{DAYS[(page + o) % len(DAYS)].isoformat()}T03:30:00Z",
             "source_updated_at": "2025-03-12T00:00:00Z", "cancelled_at": None if o % 4 else "2025-03-12T00:00:00Z",
             "financial_status": "paid", "currency": "USD", "total_price": f"{10 + o}.00", "subtotal_price": None,
             "total_tax": None, "total_discounts": None, "total_refunded": "1.00" if o == 2 else "0",
             "customer_id": None, "line_items": [{"sku": "x", "quantity": o}]} for o in range(6)]


def _events(page: int) -> list[dict[str, Any]]:
    return [{"project": "p", "event_id": f"e{page}-{i}", "name": "page_view", "user_id": f"u{i}",
             "occurred_at": f"{DAYS[i].isoformat()}T12:00:00Z", "properties": {"i": i}, "source": "events_api"}
            for i in range(5)]


def _sources() -> list[PagedSource]:
    return [PagedSource("source-a", "spend", [_spend(p) for p in range(4)]),
            PagedSource("shopify", "orders", [_orders(p) for p in range(3)]),
            PagedSource("events", "events", [_events(p) for p in range(2)])]


STATE = {
    "spend": "select project, platform, account_id, campaign_id, dt, spend, impressions, clicks, conversions,"
             " conversion_value from public.spend order by 1, 2, 3, 4, 5",
    "orders": "select project, shop_domain, order_id, placed_at, cancelled_at, total_price, total_refunded"
              " from public.orders order by 1, 2, 3",
    "events": "select project, event_id, name, occurred_at, properties from public.events order by 1, 2",
    "metrics_daily": "select project, day, platform, spend, impressions, clicks, conversions, orders, revenue,"
                     " roas, cac from public.metrics_daily order by 1, 2, 3",
}


def _state(dsn: str) -> dict[str, list[tuple[Any, ...]]]:
    with connect(dsn) as conn:
        return {table: conn.execute(query).fetchall() for table, query in STATE.items()}


def _run_all(dsn: str) -> None:
    for source in _sources():
        run_source(dsn, source, WINDOW)


# (module, function) wrapped so that its n-th call kills the process: before it runs or after it returns
POINTS: dict[str, tuple[Any, str, bool]] = {
    "mid-copy": (Loader, "_write", False),
    "before-page-commit": (run_module, "save_cursor", True),
    "after-page-commit": (loader_module, "mark_dirty", True),
    "in-recompute": (metrics_module, "_ranges", False),
    "after-last-page": (run_module, "_analyze_if_grown", False),
    "before-drain": (run_module, "drain", False),
}


def _killing(original: Callable[..., Any], n: int, after: bool) -> Callable[..., Any]:
    calls = {"n": 0}

    def wrapper(*args: Any, **kwargs: Any) -> Any:
        calls["n"] += 1
        if not after and calls["n"] == n:
            os.kill(os.getpid(), signal.SIGKILL)
        result = original(*args, **kwargs)
        if after and calls["n"] == n:
            os.kill(os.getpid(), signal.SIGKILL)
        return result
    return wrapper


def _killed_run(dsn: str, point: str, n: int) -> int:
    """Run every source in a forked child that kills itself at the n-th hit of ``point``; its exit signal."""
    pid = os.fork()
    if pid == 0:  # the child: never returns into pytest
        try:
            owner, name, after = POINTS[point]
            setattr(owner, name, _killing(getattr(owner, name), n, after))
            Loader.SPLIT_PAGES_FROM = 4  # long pages split across two connections: two commits per page
            _run_all(dsn)
        finally:
            os._exit(0)
    _, status = os.waitpid(pid, 0)
    return os.WTERMSIG(status) if os.WIFSIGNALED(status) else 0


@pytest.fixture(scope="module")
def fault_free(pg_server: str, migrated_template: str) -> dict[str, list[tuple[Any, ...]]]:
    with throwaway_database(pg_server, "etl_crash_reference", template=migrated_template) as dsn:
        _run_all(dsn)
        return _state(dsn)


@pytest.mark.slow
@given(point=st.sampled_from(sorted(POINTS)), n=st.integers(min_value=1, max_value=6))
def test_a_run_killed_anywhere_is_mended_by_the_next(pg_server, migrated_template, fault_free, point, n):
    with throwaway_database(pg_server, "etl_crash", template=migrated_template) as dsn:
        signalled = _killed_run(dsn, point, n)
        _run_all(dsn)
        assert _state(dsn) == fault_free
        with connect(dsn) as conn:
            statuses = [r[0] for r in conn.execute("select status from public.etl_runs order by id")]
            assert conn.execute("select count(*) from public.etl_dirty_days").fetchone() == (0,)
    # the killed child's runs (all succeeded but the one it died in, if it had begun one), then the next three
    killed_child, rerun = statuses[:-3], statuses[-3:]
    assert rerun == ["succeeded"] * 3 and "running" not in statuses
    assert set(killed_child[:-1]) <= {"succeeded"} and killed_child[-1:] in ([], ["succeeded"], ["interrupted"])
    if signalled != signal.SIGKILL:  # the drawn point came after the end: nothing was killed
        assert killed_child == ["succeeded"] * 3
