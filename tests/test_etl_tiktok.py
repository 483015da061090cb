"""TikTok's Business API as tiktok-business-api-sdk describes it: the advertiser's own time zone and currency,
the return-code table (parameter, auth, transient, task errors), purchases counted and valued, and late
conversions re-pulled over the restatement window. Every response is a respx route."""

from __future__ import annotations

import json
from datetime import date

import httpx
import pytest
import respx
from etl_api import payload

from healstack.etl.http import SourceError
from healstack.etl.sources import Window
from healstack.etl.sources.tiktok import TikTokSource

API = "https://tiktok.test/open_api/v1.3"
DAYS = Window(date(2025, 3, 8), date(2025, 3, 9))
pytestmark = pytest.mark.usefixtures("api_env")


def _advertiser(**info: str) -> respx.Route:
    body = payload("tiktok/advertiser.json")
    body["data"]["list"][0].update(info)
    return respx.get(f"{API}/advertiser/info/").respond(json=body)


def _report(*bodies: dict) -> respx.Route:
    route = respx.get(f"{API}/report/integrated/get/")
    route.side_effect = [httpx.Response(200, json=b) for b in bodies]
    return route


@respx.mock
def test_purchases_and_their_value_in_the_advertisers_currency():
    info = _advertiser()
    _report(payload("tiktok/report_page1.json"), payload("tiktok/report_page2.json"))
    source = TikTokSource.from_env(sleep=lambda _s: None)
    rows = [r for p in source.pages(DAYS, None) for r in p.rows]
    assert [(r["conversions"], r["conversion_value"]) for r in rows] == [("2", "98.00"), (None, None), ("1", "49.00")]
    assert {r["currency"] for r in rows} == {"CAD"} and {r["account_timezone"] for r in rows} == {"America/Toronto"}
    assert json.loads(info.calls[0].request.url.params["advertiser_ids"]) == ["777"]
    assert source.facts["metrics"] == "spend,impressions,clicks,complete_payment,total_complete_payment_rate"


@respx.mock
def test_an_advertiser_in_another_zone_is_flagged_not_shifted():
    _advertiser(display_timezone="Asia/Tokyo", currency="JPY")
    _report(payload("tiktok/report_page2.json") | {"data": {**payload("tiktok/report_page2.json")["data"],
                                                           "page_info": {"total_page": 1}}})
    [page] = list(TikTokSource.from_env(sleep=lambda _s: None).pages(DAYS, None))
    assert page.rows[0]["account_timezone"] == "Asia/Tokyo" and page.rows[0]["currency"] == "JPY"
    assert "advertiser 777 reports days in Asia/Tokyo, not America/Toronto" in page.warnings[0]


@pytest.mark.parametrize(("code", "expected"), [
    (40002, "source-b (TikTok): request failed (code 40002); not retried"),
    (40102, "source-b (TikTok): authentication failed (code 40102); check TIKTOK_ACCESS_TOKEN"),
    (40107, "authentication failed (code 40107)"),
    (40113, "authentication failed (code 40113)"),
    (40130, "authentication failed (code 40130)"),
    (40301, "authentication failed (code 40301)"),
    (40200, "request failed (code 40200); not retried"),
])
@respx.mock
def test_final_codes_are_not_retried(code, expected):
    _advertiser()
    _report({"code": code, "message": "from the code table", "data": {}})
    slept: list[float] = []
    with pytest.raises(SourceError) as failure:
        list(TikTokSource.from_env(sleep=slept.append).pages(DAYS, None))
    assert expected in str(failure.value) and slept == []


@pytest.mark.parametrize("code", [40100, 40132, 50000, 51010, 51300, 52100, 60001, 61000])
@respx.mock
def test_transient_codes_are_retried(code):
    _advertiser()
    _report({"code": code, "message": "try again", "data": {}}, payload("tiktok/report_page1.json"),
            payload("tiktok/report_page2.json"))
    source = TikTokSource.from_env(sleep=lambda _s: None)
    assert sum(len(p.rows) for p in source.pages(DAYS, None)) == 3
    assert [a.failure for a in source.client.attempts] == [f"transient: code {code}"]


@respx.mock
def test_an_incremental_run_pulls_the_restatement_window_again():
    _advertiser()
    report = _report(payload("tiktok/report_page1.json"), payload("tiktok/report_page2.json"))
    list(TikTokSource.from_env(sleep=lambda _s: None).pages(Window(date(2025, 3, 9), date(2025, 3, 9)),
                                                            {"last_day": "2025-03-08", "page": 1}))
    sent = report.calls[0].request.url.params
    assert (sent["start_date"], sent["end_date"]) == ("2025-02-09", "2025-03-09")  # 28 days back, one request
