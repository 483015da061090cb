"""Shopify's GraphQL Admin API (2026-10) as shopify.dev and shopify-api-ruby describe it: cursor pages under
the cost throttle, a bulk operation for backfills, the client-credentials grant, the read_all_orders scope,
successful refunds only. Every response is a respx route."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Any

import httpx
import pytest
import respx
from etl_api import FIXTURES, SECRET, graphql, payload

from healstack.etl.http import SourceError
from healstack.etl.sources import Window
from healstack.etl.sources.shopify import ShopifySource, Token

ENDPOINT = "https://shop.test/admin/api/2026-10/graphql.json"
DAYS = Window(date(2025, 3, 8), date(2025, 3, 10))
pytestmark = pytest.mark.usefixtures("api_env")


def _pages() -> list[httpx.Response]:
    return [httpx.Response(200, json=payload("shopify/orders_page1.json")),
            httpx.Response(200, json=payload("shopify/orders_page2.json"))]


def _rows(source: ShopifySource, window: Window = DAYS) -> list[dict[str, Any]]:
    return [row for page in source.pages(window, None) for row in page.rows]


@respx.mock
def test_cursor_pages_money_and_successful_refunds_only():
    seen: list[dict[str, Any]] = []
    route = respx.post(ENDPOINT).mock(side_effect=graphql(_pages(), seen=seen))
    rows = _rows(ShopifySource.from_env(sleep=lambda _s: None))
    assert [r["order_id"] for r in rows] == [5001, 5002, 5003]
    assert rows[1]["total_refunded"] == "10.00"  # the failed 25.00 refund returned nothing
    assert (rows[1]["total_price"], rows[1]["financial_status"], rows[1]["customer_id"]) == (
        "60.00", "partially_refunded", 9002)
    assert rows[0]["line_items"] == [{"sku": "TEE-1", "quantity": 2, "price": "55.00"}]
    orders = [s for s in seen if s["query"].startswith("query Orders")]
    assert orders[1]["variables"]["after"] == "eyJsYXN0X2lkIjo1MDAyfQ=="
    assert orders[0]["variables"]["query"].startswith("updated_at:>='2025-03-08T00:00:00-05:00' AND updated_at:<")
    assert route.calls[0].request.headers["X-Shopify-Access-Token"] == SECRET


@respx.mock
def test_a_throttled_query_waits_for_its_cost_to_refill():
    respx.post(ENDPOINT).mock(side_effect=graphql([httpx.Response(200, json=payload("shopify/throttled.json")),
                                                   *_pages()]))
    slept: list[float] = []
    source = ShopifySource.from_env(sleep=slept.append)
    assert len(_rows(source)) == 3
    assert slept == [5.0]  # (752 requested - 252 available) / 100 restored per second
    assert [a.failure for a in source.client.attempts] == ["transient: throttled (query cost)"]


@respx.mock
def test_a_nearly_empty_bucket_paces_the_next_page():
    low = payload("shopify/orders_page1.json")
    low["extensions"]["cost"]["throttleStatus"]["currentlyAvailable"] = 552.0
    respx.post(ENDPOINT).mock(side_effect=graphql([httpx.Response(200, json=low),
                                                   httpx.Response(200, json=payload("shopify/orders_page2.json"))]))
    slept: list[float] = []
    _rows(ShopifySource.from_env(sleep=slept.append))
    assert slept == [2.0]


@respx.mock
def test_a_bad_token_names_the_variable():
    respx.post(ENDPOINT).respond(401, json=payload("shopify/auth_error.json"))
    with pytest.raises(SourceError, match=r"shopify: authentication failed \(HTTP 401\); check SHOPIFY_ACCESS_TOKEN"):
        _rows(ShopifySource.from_env(sleep=lambda _s: None))


def _client_credentials(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("SHOPIFY_ACCESS_TOKEN")
    monkeypatch.setenv("SHOPIFY_CLIENT_ID", "client-id-1")
    monkeypatch.setenv("SHOPIFY_CLIENT_SECRET", "client-secret-2")


@respx.mock
def test_client_credentials_grant_then_refreshed_before_it_expires(monkeypatch):
    _client_credentials(monkeypatch)
    grant = respx.post("https://shop.test/admin/oauth/access_token")
    grant.side_effect = [httpx.Response(200, json=payload("shopify/token.json")),
                         httpx.Response(200, json={**payload("shopify/token.json"), "access_token": "shpat_second"})]
    route = respx.post(ENDPOINT).mock(side_effect=graphql(_pages()))
    source = ShopifySource.from_env(sleep=lambda _s: None)
    now = [1000.0]
    source.token = Token(source.config, source.client, clock=lambda: now[0])
    pages = source.pages(DAYS, None)
    next(pages)
    now[0] += 86399 - 200  # within five minutes of expiry: the next request fetches a new token
    list(pages)
    assert grant.call_count == 2 and b"grant_type=client_credentials" in grant.calls[0].request.content
    assert [c.request.headers["X-Shopify-Access-Token"] for c in route.calls] == ["shpat_fixture_granted",
                                                                                  "shpat_second"]
    assert source.facts["auth"] == "client credentials"


@respx.mock
def test_a_refused_grant_is_one_line_without_the_secret(monkeypatch):
    _client_credentials(monkeypatch)
    respx.post("https://shop.test/admin/oauth/access_token").respond(400, json={"error": "invalid_client"})
    with pytest.raises(SourceError) as failure:
        _rows(ShopifySource.from_env(sleep=lambda _s: None))
    assert str(failure.value).startswith("shopify: the client-credentials grant was refused; check SHOPIFY_CLIENT_ID")
    assert "client-secret-2" not in str(failure.value)


def _old() -> Window:
    start = datetime.now(UTC).date() - timedelta(days=90)
    return Window(start, start + timedelta(days=2))


@respx.mock
def test_orders_older_than_60_days_without_read_all_orders_are_refused_clearly():
    respx.post(ENDPOINT).mock(side_effect=graphql(_pages(), scopes=("read_orders",)))
    with pytest.raises(SourceError, match="need the read_all_orders scope, which this app's token lacks"):
        _rows(ShopifySource.from_env(sleep=lambda _s: None), _old())


@respx.mock
def test_with_the_scope_from_the_grant_they_are_read(monkeypatch):
    _client_credentials(monkeypatch)
    respx.post("https://shop.test/admin/oauth/access_token").respond(json=payload("shopify/token.json"))
    respx.post(ENDPOINT).mock(side_effect=graphql(_pages(), scopes=()))  # the grant's scope is enough
    assert len(_rows(ShopifySource.from_env(sleep=lambda _s: None), _old())) == 3


@respx.mock
def test_a_backfill_runs_as_a_bulk_operation():
    seen: list[dict[str, Any]] = []
    respx.post(ENDPOINT).mock(side_effect=graphql([
        httpx.Response(200, json=payload("shopify/bulk_started.json")),
        httpx.Response(200, json=payload("shopify/bulk_running.json")),
        httpx.Response(200, json=payload("shopify/bulk_completed.json"))], seen=seen))
    respx.get("https://storage.shop.test/bulk/720918.jsonl").respond(
        text=(FIXTURES / "shopify/bulk_orders.jsonl").read_text())
    slept: list[float] = []
    rows = _rows(ShopifySource.from_env(sleep=slept.append), Window(date(2025, 1, 1), date(2025, 3, 10)))
    assert [r["order_id"] for r in rows] == [5001, 5002, 5003] and slept == [2.0, 4.0]  # polls back off
    assert rows[1]["total_refunded"] == "10.00" and rows[0]["line_items"][0]["sku"] == "TEE-1"
    assert "orders(query: \"updated_at:>='2025-01-01" in seen[1]["variables"]["query"]


@respx.mock
def test_a_failed_bulk_operation_is_one_line():
    failed = payload("shopify/bulk_completed.json")
    failed["data"]["node"].update(status="FAILED", errorCode="INTERNAL_SERVER_ERROR", url=None)
    respx.post(ENDPOINT).mock(side_effect=graphql([httpx.Response(200, json=payload("shopify/bulk_started.json")),
                                                   httpx.Response(200, json=failed)]))
    with pytest.raises(SourceError, match="shopify: the bulk operation ended FAILED \\(INTERNAL_SERVER_ERROR\\)"):
        _rows(ShopifySource.from_env(sleep=lambda _s: None), Window(date(2025, 1, 1), date(2025, 3, 10)))
