"""Each source against respx routes built from fixtures/: pagination, string metrics, error bodies,
throttling, auth failures. No socket is opened."""

from __future__ import annotations

from datetime import date, timedelta

import httpx
import pytest
import respx
from etl_api import SECRET, graphql, payload

from healstack.etl.http import SourceError
from healstack.etl.run import run_source
from healstack.etl.sources import Window
from healstack.etl.sources.events import EventsSource
from healstack.etl.sources.meta import MetaSource
from healstack.etl.sources.shopify import ShopifySource
from healstack.etl.sources.tiktok import TikTokSource, windows

WINDOW = Window(date(2025, 3, 8), date(2025, 3, 9))


@pytest.fixture
def slept():
    return []


def _rows(source) -> list[dict]:
    return [row for page in source.pages(WINDOW, None) for row in page.rows]


@respx.mock
def test_meta_pages_strings_and_one_purchase_type(api_env, slept):
    respx.get("https://meta.test/v27.0/act_1234").respond(json=payload("meta/account.json"))
    insights = respx.get("https://meta.test/v27.0/act_1234/insights")
    insights.side_effect = [httpx.Response(200, json=payload("meta/insights_page1.json")),
                            httpx.Response(200, json=payload("meta/insights_page2.json"))]
    rows = _rows(MetaSource.from_env(sleep=slept.append))
    assert len(rows) == 3 and insights.call_count == 2
    assert insights.calls[1].request.url.params["after"] == "QVFIUjJ"
    first = rows[0]
    assert (first["spend"], first["impressions"], first["conversions"], first["conversion_value"]) == (
        "120.50", "15000", "4", "480.00")  # omni_purchase only, never purchase + omni_purchase
    assert first["currency"] == "CAD" and first["platform"] == "meta" and first["project"] == "occ"
    assert rows[1]["conversions"] is None


@respx.mock
def test_meta_throttle_is_retried_with_backoff(api_env, slept):
    respx.get("https://meta.test/v27.0/act_1234").respond(json=payload("meta/account.json"))
    respx.get("https://meta.test/v27.0/act_1234/insights").side_effect = [
        httpx.Response(400, json=payload("meta/throttle.json")),
        httpx.Response(400, json=payload("meta/throttle.json")),
        httpx.Response(200, json=payload("meta/insights_page2.json"))]
    source = MetaSource.from_env(sleep=slept.append)
    assert len(_rows(source)) == 1
    assert [a.failure for a in source.client.attempts] == ["transient: throttled (error code 17/2446079)"] * 2
    assert len(slept) == 2 and all(0 <= s <= 30 for s in slept)


@respx.mock
def test_meta_expired_token_fails_at_once_naming_the_variable(api_env, slept):
    respx.get("https://meta.test/v27.0/act_1234").respond(400, json=payload("meta/auth_error.json"))
    with pytest.raises(SourceError) as failure:
        _rows(MetaSource.from_env(sleep=slept.append))
    assert str(failure.value) == "source-a (Meta): authentication failed (error code 190); check META_ACCESS_TOKEN"
    assert SECRET not in str(failure.value) and slept == []


@respx.mock
def test_meta_account_in_another_zone_is_flagged_not_shifted(api_env, slept):
    respx.get("https://meta.test/v27.0/act_1234").respond(json={"timezone_name": "America/Los_Angeles",
                                                                "currency": "USD"})
    respx.get("https://meta.test/v27.0/act_1234/insights").respond(json=payload("meta/insights_page2.json"))
    [page] = list(MetaSource.from_env(sleep=slept.append).pages(WINDOW, None))
    assert page.rows[0]["dt"] == "2025-03-09" and page.rows[0]["account_timezone"] == "America/Los_Angeles"
    assert "reports days in America/Los_Angeles" in page.warnings[0]


def advertiser(**info) -> None:
    body = payload("tiktok/advertiser.json")
    body["data"]["list"][0].update(info)
    respx.get("https://tiktok.test/open_api/v1.3/advertiser/info/").respond(json=body)


@respx.mock
def test_tiktok_pages_dash_is_null_and_code_errors(api_env, slept):
    advertiser()
    route = respx.get("https://tiktok.test/open_api/v1.3/report/integrated/get/")
    route.side_effect = [httpx.Response(200, json=payload("tiktok/rate_limit.json")),
                         httpx.Response(200, json=payload("tiktok/report_page1.json")),
                         httpx.Response(200, json=payload("tiktok/report_page2.json"))]
    source = TikTokSource.from_env(sleep=slept.append)
    rows = _rows(source)
    assert len(rows) == 3 and route.calls[0].request.headers["Access-Token"] == SECRET
    assert rows[1]["impressions"] is None and rows[1]["clicks"] is None and rows[1]["spend"] == "10.00"
    assert rows[0]["dt"] == "2025-03-08" and [a.failure for a in source.client.attempts] == ["transient: code 40100"]
    assert route.calls[2].request.url.params["page"] == "2"


@respx.mock
def test_tiktok_revoked_token(api_env, slept):
    respx.get(url__startswith="https://tiktok.test/open_api/v1.3/").respond(json=payload("tiktok/auth_error.json"))
    with pytest.raises(SourceError, match="authentication failed \\(code 40105\\); check TIKTOK_ACCESS_TOKEN"):
        _rows(TikTokSource.from_env(sleep=slept.append))


def test_tiktok_windows_are_at_most_30_days():
    spans = list(windows(Window(date(2025, 1, 1), date(2025, 3, 1))))
    assert spans[0] == (date(2025, 1, 1), date(2025, 1, 30)) and spans[-1][1] == date(2025, 3, 1)
    assert all((end - start).days < 30 for start, end in spans)


@respx.mock
def test_events_follow_next_cursor(api_env, slept):
    route = respx.get("https://events.test/events")
    route.side_effect = [httpx.Response(200, json=payload("events/page1.json")),
                         httpx.Response(200, json=payload("events/page2.json"))]
    rows = _rows(EventsSource.from_env(sleep=slept.append))
    assert [r["event_id"] for r in rows] == ["ev-1", "ev-2", "ev-3", "ev-4"]
    assert route.calls[1].request.url.params["cursor"] == "c2"
    assert route.calls[0].request.headers["Authorization"] == f"Bearer {SECRET}"


@respx.mock
def test_retries_are_bounded(api_env, slept):
    respx.get("https://events.test/events").respond(503)
    source = EventsSource.from_env(sleep=slept.append)
    with pytest.raises(SourceError, match="events: gave up after 6 attempts \\(last: transient: HTTP 503\\)"):
        _rows(source)
    assert len(slept) == 5


@respx.mock
def test_metrics_from_fixture_pulls_match_hand_computed_days(api_env, slept, migrated_db, conn):
    """2025-03-08 (24 h, a zero-spend campaign), 2025-03-09 (23 h: DST starts) and 2025-03-10, a day with
    spend but no order, pulled through every source, then compared with figures worked out by hand."""
    zero_day = payload("meta/insights_page2.json")
    zero_day["data"].append({"campaign_id": "c-100", "date_start": "2025-03-10", "date_stop": "2025-03-10",
                             "spend": "0", "impressions": "0", "clicks": "0"})
    respx.get("https://meta.test/v27.0/act_1234").respond(json=payload("meta/account.json"))
    respx.get("https://meta.test/v27.0/act_1234/insights").side_effect = [
        httpx.Response(200, json=payload("meta/insights_page1.json")), httpx.Response(200, json=zero_day)]
    advertiser()
    respx.get("https://tiktok.test/open_api/v1.3/report/integrated/get/").side_effect = [
        httpx.Response(200, json=payload("tiktok/report_page1.json")),
        httpx.Response(200, json=payload("tiktok/report_page2.json"))]
    respx.post("https://shop.test/admin/api/2026-10/graphql.json").mock(side_effect=graphql([
        httpx.Response(200, json=payload("shopify/orders_page1.json")),
        httpx.Response(200, json=payload("shopify/orders_page2.json"))]))
    window = Window(date(2025, 3, 8), date(2025, 3, 10))
    for source in (MetaSource, TikTokSource, ShopifySource):
        run_source(migrated_db, source.from_env(sleep=slept.append), window)
    rows = conn.execute("select day::text, platform, spend::text, orders, revenue::text, round(roas, 4)::text,"
                        " round(cac, 4)::text from public.metrics_daily where project = 'occ' and platform = %s"
                        " order by day", ["all"]).fetchall()
    # spend: meta 120.50 + 0 (c-200) + tiktok 45.10 + 10.00; one order (#1003, 23:59 on the 8th) of 80.00
    # 9th, 23 h long: meta 99.99 + tiktok 50.00; #1001 (00:30 EST) 120.00 and #1002 (23:30 EDT, still the
    # 9th in Toronto though the 10th in UTC) 60.00 less a 10.00 refund
    # 10th: no spend at all, no order: ROAS and CAC have no divisor
    assert rows == [
        ("2025-03-08", "all", "175.6000", 1, "80.00", "0.4556", "175.6000"),
        ("2025-03-09", "all", "149.9900", 2, "170.00", "1.1334", "74.9950"),
        ("2025-03-10", "all", "0.0000", 0, "0.00", None, None),
    ]
    meta = conn.execute("select day::text, spend::text, round(roas, 4)::text from public.metrics_daily"
                        " where project = 'occ' and platform = 'meta' order by day").fetchall()
    assert meta == [("2025-03-08", "120.5000", "3.9834"), ("2025-03-09", "99.9900", "3.3003"),
                    ("2025-03-10", "0.0000", None)]


@respx.mock
def test_events_cursor_moves_forward_with_an_overlap_and_the_window_end_holds(api_env, slept, migrated_db, conn):
    """The first run reads the window from its start; the next one from its newest event less ten minutes
    (not from the first run's start again); an event at or after the window's end waits for its own run."""
    late = {"data": [{"id": "ev-9", "name": "page_view", "user_id": None, "occurred_at": "2025-03-10T05:00:00Z",
                      "properties": {}}], "next_cursor": None}
    route = respx.get("https://events.test/events")
    route.side_effect = [httpx.Response(200, json=payload("events/page1.json")),
                         httpx.Response(200, json={**payload("events/page2.json"), "data": [
                             *payload("events/page2.json")["data"], *late["data"]]}),
                         httpx.Response(200, json={"data": [], "next_cursor": None})]
    window = Window(date(2025, 3, 9), date(2025, 3, 9))
    run_source(migrated_db, EventsSource.from_env(sleep=slept.append), window)
    run_source(migrated_db, EventsSource.from_env(sleep=slept.append), window)
    first, _, again = (call.request.url.params for call in route.calls)
    assert first["since"] == "2025-03-09T00:00:00-05:00" and first["until"] == "2025-03-10T00:00:00-04:00"
    newest = conn.execute("select max(occurred_at) from public.events").fetchone()[0]
    assert again["since"] == (newest - timedelta(minutes=10)).isoformat() and "cursor" not in again
    ids = [r[0] for r in conn.execute("select event_id from public.events order by 1")]
    assert ids == ["ev-1", "ev-2", "ev-3", "ev-4"]  # ev-9 (01:00 on the 10th in Toronto, DST begun) is the next day's
