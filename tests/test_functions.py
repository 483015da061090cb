"""The stack's functions: idempotent upserts and DST-correct daily metrics."""

from __future__ import annotations

import json
from decimal import Decimal

import pytest
from psycopg import errors

SPEND = [
    {"project": "occ", "platform": "meta", "account_id": "1", "campaign_id": "c1", "dt": "2025-03-09",
     "spend": "100.00", "impressions": "1000", "clicks": "50", "conversions": "4", "conversion_value": "250"},
    {"project": "occ", "platform": "tiktok", "account_id": "9", "campaign_id": "t1", "dt": "2025-03-09",
     "spend": "50", "impressions": "400", "clicks": "20", "conversions": None, "conversion_value": None},
]
# 2025-03-09 is the 23-hour spring-forward day in Toronto (02:00 EST -> 03:00 EDT).
ORDERS = [
    # 00:30 EST on 03-09 -> that day; 04:59Z on 03-09 is 23:59 EST on 03-08 -> the day before
    {"order_id": 1, "placed_at": "2025-03-09T05:30:00Z", "total_price": "120.00"},
    {"order_id": 2, "placed_at": "2025-03-09T04:59:00Z", "total_price": "80.00"},
    # 23:30 EDT on 03-09 -> still 03-09 although UTC says 03-10
    {"order_id": 3, "placed_at": "2025-03-10T03:30:00Z", "total_price": "60.00", "total_refunded": "10.00"},
    # cancelled orders do not count
    {"order_id": 4, "placed_at": "2025-03-09T12:00:00Z", "total_price": "999", "cancelled_at": "2025-03-09T13:00Z"},
    # a day with orders but no spend
    {"order_id": 5, "placed_at": "2025-03-11T15:00:00Z", "total_price": "40.00"},
]


def _orders():
    return [{"project": "occ", "shop_domain": "occ.myshopify.com", "source_updated_at": "2025-03-12T00:00:00Z",
             **o} for o in ORDERS]


def _call(conn, function, rows):
    return conn.execute(f"select public.{function}(%s::jsonb)", [json.dumps(rows)]).fetchone()[0]


def test_upsert_counts_and_rewrites_nothing_on_identical_rerun(conn):
    assert _call(conn, "upsert_spend", SPEND) == {"inserted": 2, "updated": 0, "unchanged": 0}
    xmins = conn.execute("select array_agg(xmin::text order by campaign_id) from public.spend").fetchone()
    assert _call(conn, "upsert_spend", SPEND) == {"inserted": 0, "updated": 0, "unchanged": 2}
    assert conn.execute("select array_agg(xmin::text order by campaign_id) from public.spend").fetchone() == xmins
    changed = [dict(SPEND[0], spend="101.00"), SPEND[1]]
    assert _call(conn, "upsert_spend", changed) == {"inserted": 0, "updated": 1, "unchanged": 1}


def test_upsert_keeps_the_last_duplicate_of_a_payload(conn):
    rows = [{"project": "occ", "event_id": "e1", "name": "first", "occurred_at": "2025-01-01T00:00:00Z"},
            {"project": "occ", "event_id": "e1", "name": "last", "occurred_at": "2025-01-01T00:00:00Z"}]
    assert _call(conn, "upsert_events", rows) == {"inserted": 1, "updated": 0, "unchanged": 0}
    assert conn.execute("select name from public.events").fetchall() == [("last",)]


def test_an_older_order_version_never_overwrites_a_newer_one(conn):
    newer = _orders()[:1]
    older = [dict(newer[0], total_price="1.00", source_updated_at="2025-03-10T00:00:00Z")]
    _call(conn, "upsert_orders", newer)
    assert _call(conn, "upsert_orders", older) == {"inserted": 0, "updated": 0, "unchanged": 1}
    assert conn.execute("select total_price from public.orders").fetchone() == (Decimal("120.00"),)


def test_upsert_rejects_a_non_array(conn):
    with pytest.raises(errors.InvalidParameterValue, match="expects a JSON array"):
        conn.execute("select public.upsert_events('{}'::jsonb)")


def _metrics(conn):
    return {(str(r[0]), r[1]): r[2:] for r in conn.execute(
        "select day, platform, spend, orders, revenue, roas, cac from public.metrics_daily order by 1, 2")}


def test_metrics_on_a_dst_day_and_a_zero_spend_day(conn):
    _call(conn, "upsert_spend", SPEND)
    _call(conn, "upsert_orders", _orders())
    written = conn.execute("select public.recompute_metrics_daily('2025-03-08', '2025-03-11')").fetchone()[0]
    metrics = _metrics(conn)
    assert written == len(metrics) == 5
    # 03-09: orders 1 and 3 (net 120 + 50), spend 150 over both platforms
    assert metrics[("2025-03-09", "all")] == (Decimal("150.0000"), 2, Decimal("170.00"), Decimal("1.1333"),
                                              Decimal("75.0000"))
    assert metrics[("2025-03-09", "meta")] == (Decimal("100.0000"), 0, Decimal("250.00"), Decimal("2.5000"),
                                               Decimal("25.0000"))
    # TikTok reported no conversions: CAC has no divisor
    assert metrics[("2025-03-09", "tiktok")][4] is None
    # 03-08 only has order 2 (23:59 EST); zero spend -> ROAS NULL
    assert metrics[("2025-03-08", "all")] == (Decimal("0.0000"), 1, Decimal("80.00"), None, Decimal("0.0000"))
    assert metrics[("2025-03-11", "all")][3] is None


def test_fall_back_day_has_25_hours(conn):
    # 2025-11-02: 01:00-02:00 happens twice; 04:30Z and 05:30Z are both 01:30 local, and 04:59Z on 11-03
    # is 23:59 EST on 11-02.
    rows = [dict(_orders()[0], order_id=i, placed_at=ts) for i, ts in
            enumerate(["2025-11-02T04:00:00Z", "2025-11-02T05:30:00Z", "2025-11-02T06:30:00Z",
                       "2025-11-03T04:59:00Z", "2025-11-03T05:00:00Z"], start=10)]
    _call(conn, "upsert_orders", rows)
    conn.execute("select public.recompute_metrics_daily('2025-11-01', '2025-11-03')")
    orders = {day: m[1] for (day, platform), m in _metrics(conn).items() if platform == "all"}
    assert orders == {"2025-11-02": 4, "2025-11-03": 1}


def test_recompute_with_no_new_data_rewrites_nothing(conn):
    _call(conn, "upsert_spend", SPEND)
    _call(conn, "upsert_orders", _orders())
    conn.execute("select public.recompute_metrics_daily('2025-03-08', '2025-03-11')")
    xmins = conn.execute("select array_agg(xmin::text order by id) from public.metrics_daily").fetchone()
    assert conn.execute("select public.recompute_metrics_daily('2025-03-08', '2025-03-11')").fetchone() == (0,)
    assert conn.execute("select array_agg(xmin::text order by id) from public.metrics_daily").fetchone() == xmins


def test_recompute_rejects_a_reversed_range(conn):
    with pytest.raises(errors.InvalidParameterValue, match="p_from <= p_to"):
        conn.execute("select public.recompute_metrics_daily('2025-03-09', '2025-03-01')")


def test_functions_are_invoker_with_pinned_search_path_and_service_role_only(conn):
    rows = conn.execute(
        "select p.proname, p.prosecdef, p.proconfig,"
        " has_function_privilege('authenticated', p.oid, 'execute'),"
        " has_function_privilege('anon', p.oid, 'execute'),"
        " has_function_privilege('service_role', p.oid, 'execute')"
        " from pg_proc p where p.pronamespace = 'public'::regnamespace"
        " and p.proname not in ('set_updated_at', 'forget_source_hash')"
        " order by 1").fetchall()
    assert [r[0] for r in rows] == ["recompute_metrics_daily", "system_healthcheck", "upsert_events",
                                    "upsert_orders", "upsert_spend"]
    for name, definer, config, auth_exec, anon_exec, service_exec in rows:
        assert (definer, config, auth_exec, anon_exec, service_exec) == (
            False, ['search_path=""'], False, False, True), name


def test_healthcheck_reports_a_table_without_rls(conn):
    assert conn.execute("select public.system_healthcheck() ->> 'ok'").fetchone() == ("true",)
    conn.execute("alter table public.facts disable row level security")
    health = conn.execute("select public.system_healthcheck()").fetchone()[0]
    assert health["ok"] is False and health["tables_without_rls"] == ["facts"]
