"""Meta's Marketing API as its docs and facebook-python-business-sdk describe it: live versions, error codes
(2635, 2/1504043, 1504038), the usage headers, async insights jobs, appsecret_proof, attribution windows.
Every response is a respx route; no socket is opened."""

from __future__ import annotations

import hashlib
import hmac
import json
from datetime import date

import httpx
import pytest
import respx
from etl_api import SECRET, payload

from healstack.errors import ConfigError
from healstack.etl.http import SourceError
from healstack.etl.sources import Window
from healstack.etl.sources.meta import MetaSource

BASE = "https://meta.test/v27.0/act_1234"
DAYS = Window(date(2025, 3, 8), date(2025, 3, 9))
pytestmark = pytest.mark.usefixtures("api_env")


def _rows(source: MetaSource, window: Window = DAYS) -> list[dict]:
    return [row for page in source.pages(window, None) for row in page.rows]


def _account(version: str = "v27.0") -> None:
    respx.get(f"https://meta.test/{version}/act_1234").respond(json=payload("meta/account.json"))


@pytest.mark.parametrize(("raw", "path"), [(None, "v27.0"), ("v25.0", "v25.0"), ("26.0", "v26.0")])
@respx.mock
def test_a_live_version_with_or_without_its_v(monkeypatch, raw, path):
    if raw:
        monkeypatch.setenv("META_API_VERSION", raw)
    _account(path)
    insights = respx.get(f"https://meta.test/{path}/act_1234/insights").respond(json=payload("meta/insights_page2.json"))
    source = MetaSource.from_env(sleep=lambda _s: None)
    assert len(_rows(source)) == 1 and insights.called and source.facts["api_version"] == path


@pytest.mark.parametrize(("raw", "message"), [
    ("21.0", "META_API_VERSION v21.0: Meta has retired this Marketing API version; use a live version (v27.0"),
    ("v24.0", "META_API_VERSION v24.0: Meta has retired"),
    ("25", "META_API_VERSION='25' is not a Graph API version such as v27.0")])
def test_a_retired_or_malformed_version_is_one_line_before_any_request(monkeypatch, raw, message):
    monkeypatch.setenv("META_API_VERSION", raw)
    with pytest.raises(ConfigError, match=message.replace("(", r"\(").replace(".", r"\.")):
        MetaSource.from_env()


@respx.mock
def test_a_version_meta_retired_since_is_named_not_retried():
    respx.get(BASE).respond(400, json=payload("meta/version_gone.json"))
    slept: list[float] = []
    with pytest.raises(SourceError, match="error code 2635: this Graph API version is retired for the Marketing "
                                          "API; set META_API_VERSION to a live version") as failure:
        _rows(MetaSource.from_env(sleep=slept.append))
    assert slept == [] and SECRET not in str(failure.value)


@respx.mock
def test_an_intermittent_error_is_retried():
    _account()
    respx.get(f"{BASE}/insights").side_effect = [httpx.Response(500, json=payload("meta/intermittent.json")),
                                                 httpx.Response(200, json=payload("meta/insights_page2.json"))]
    source = MetaSource.from_env(sleep=lambda _s: None)
    assert len(_rows(source)) == 1
    assert [a.failure for a in source.client.attempts] == ["transient: transient (error code 2/1504043)"]


@respx.mock
def test_too_much_data_splits_the_range_and_asks_again():
    _account()
    asked: list[str] = []

    def insights(request: httpx.Request) -> httpx.Response:
        span = json.loads(request.url.params["time_range"])
        asked.append(f"{span['since']}..{span['until']}")
        if span["since"] != span["until"]:
            return httpx.Response(400, json=payload("meta/too_large.json"))
        row = dict(payload("meta/insights_page2.json")["data"][0], date_start=span["since"])
        return httpx.Response(200, json={"data": [row], "paging": {}})
    respx.get(f"{BASE}/insights").side_effect = insights
    rows = _rows(MetaSource.from_env(sleep=lambda _s: None), Window(date(2025, 3, 8), date(2025, 3, 10)))
    assert asked == ["2025-03-08..2025-03-10", "2025-03-08..2025-03-09", "2025-03-08..2025-03-08",
                     "2025-03-09..2025-03-09", "2025-03-10..2025-03-10"]
    assert [r["dt"] for r in rows] == ["2025-03-08", "2025-03-09", "2025-03-10"]


def _usage(minutes: int = 0, calls: int = 10) -> dict[str, str]:
    return {"X-Business-Use-Case-Usage": json.dumps({"1234567": [{
        "type": "ads_insights", "call_count": calls, "total_cputime": 5, "total_time": 5,
        "estimated_time_to_regain_access": minutes}]})}


@respx.mock
def test_a_throttled_account_waits_the_time_meta_names():
    _account()
    throttled = httpx.Response(400, json={"error": {"code": 80000, "message": "There have been too many calls"}},
                               headers=_usage(minutes=7, calls=100))
    answer = httpx.Response(200, json=payload("meta/insights_page2.json"))
    respx.get(f"{BASE}/insights").side_effect = [throttled, answer]
    slept: list[float] = []
    assert len(_rows(MetaSource.from_env(sleep=slept.append))) == 1
    assert slept == [420.0]  # 7 minutes, though the retry budget is 300 s: Meta said when access returns


@respx.mock
def test_a_wait_beyond_the_throttle_cap_is_said(monkeypatch):
    monkeypatch.setenv("ETL_MAX_THROTTLE_WAIT", "600")
    _account()
    respx.get(f"{BASE}/insights").respond(400, json={"error": {"code": 80000, "message": "too many calls"}},
                                          headers=_usage(minutes=15, calls=100))
    with pytest.raises(SourceError, match=r"asks to wait 900 s .*ETL_MAX_THROTTLE_WAIT"):
        _rows(MetaSource.from_env(sleep=lambda _s: None))


@respx.mock
def test_an_account_near_its_limit_is_paced():
    respx.get(BASE).respond(json=payload("meta/account.json"), headers=_usage(calls=95))
    respx.get(f"{BASE}/insights").respond(json=payload("meta/insights_page2.json"), headers=_usage(calls=20))
    slept: list[float] = []
    _rows(MetaSource.from_env(sleep=slept.append))
    assert slept == [16.0]  # 95 % of the allowance: pause before the next call, none at 20 %


@respx.mock
def test_a_long_range_runs_as_an_async_job():
    _account()
    started = respx.post(f"{BASE}/insights").respond(json=payload("meta/async_started.json"))
    respx.get("https://meta.test/v27.0/6041234567").side_effect = [
        httpx.Response(200, json=payload("meta/async_running.json")),
        httpx.Response(200, json=payload("meta/async_completed.json"))]
    results = respx.get("https://meta.test/v27.0/6041234567/insights")
    results.side_effect = [httpx.Response(200, json=payload("meta/insights_page1.json")),
                           httpx.Response(200, json=payload("meta/insights_page2.json"))]
    slept: list[float] = []
    pages = list(MetaSource.from_env(sleep=slept.append).pages(Window(date(2025, 1, 1), date(2025, 3, 9)), None))
    assert sum(len(p.rows) for p in pages) == 3 and slept == [2.0]
    sent = started.calls[0].request.url.params
    assert json.loads(sent["time_range"]) == {"since": "2025-01-01", "until": "2025-03-09"} and "limit" not in sent
    assert results.calls[1].request.url.params["after"] == "QVFIUjJ" and pages[-1].progress == 1.0


@respx.mock
def test_a_failed_async_job_is_one_line():
    _account()
    respx.post(f"{BASE}/insights").respond(json=payload("meta/async_started.json"))
    respx.get("https://meta.test/v27.0/6041234567").respond(json={"async_status": "Job Failed"})
    with pytest.raises(SourceError, match=r"async insights job 6041234567 for 2025-01-01\.\.2025-03-09 ended 'Job "
                                          r"Failed'; run again, or lower META_ASYNC_AFTER_DAYS"):
        _rows(MetaSource.from_env(sleep=lambda _s: None), Window(date(2025, 1, 1), date(2025, 3, 9)))


@respx.mock
def test_appsecret_proof_and_attribution_windows_when_set(monkeypatch):
    monkeypatch.setenv("META_APP_SECRET", "app-secret-987")
    monkeypatch.setenv("META_ATTRIBUTION_WINDOWS", "7d_click, 1d_view")
    _account()
    insights = respx.get(f"{BASE}/insights").respond(json=payload("meta/insights_page2.json"))
    source = MetaSource.from_env(sleep=lambda _s: None)
    _rows(source)
    sent = insights.calls[0].request.url.params
    assert sent["appsecret_proof"] == hmac.new(b"app-secret-987", SECRET.encode(), hashlib.sha256).hexdigest()
    assert json.loads(sent["action_attribution_windows"]) == ["7d_click", "1d_view"]
    assert source.facts["attribution"] == "7d_click,1d_view"


@respx.mock
def test_without_them_the_account_default_is_stated():
    _account()
    insights = respx.get(f"{BASE}/insights").respond(json=payload("meta/insights_page2.json"))
    source = MetaSource.from_env(sleep=lambda _s: None)
    _rows(source)
    assert "appsecret_proof" not in insights.calls[0].request.url.params
    assert "action_attribution_windows" not in insights.calls[0].request.url.params
    assert source.facts["attribution"] == "the account's default (not overridden)"


@respx.mock
def test_a_job_still_running_past_its_budget_is_one_line(monkeypatch):
    monkeypatch.setattr("healstack.etl.sources.meta.ASYNC_WAIT_S", 5.0)
    _account()
    respx.post(f"{BASE}/insights").respond(json=payload("meta/async_started.json"))
    respx.get("https://meta.test/v27.0/6041234567").respond(json=payload("meta/async_running.json"))
    slept: list[float] = []
    with pytest.raises(SourceError, match=r"async insights job 6041234567 for 2025-01-01\.\.2025-03-09 is still "
                                          r"running after 6 s; run again later"):
        _rows(MetaSource.from_env(sleep=slept.append), Window(date(2025, 1, 1), date(2025, 3, 9)))
    assert slept == [2.0, 4.0]
