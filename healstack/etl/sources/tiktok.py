"""Source B: TikTok Business API integrated report, one row per campaign and day.

Follows tiktok-business-api-sdk (python_sdk: reporting_api.py's integrated report, the advertiser
info endpoint of account_management_api.py, and the SDK's return-code table) and the Business API docs.
Metrics: ``complete_payment`` (purchases counted by the pixel or events API) is stored as conversions and
``total_complete_payment_rate`` (despite its name, the purchases' total value) as conversion_value, so a
TikTok row means what a Meta row means (one purchase action); ``conversion`` counts whatever event the
campaign optimises for, which differs per campaign and is not a purchase."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

import httpx

from healstack.etl.http import Failure, SourceClient, http_status_failure
from healstack.etl.sources import TORONTO, Page, Window, env

# 40100 rate limit, 40132 too many concurrent requests, 5xxxx/6xxxx system errors and timeouts (51010)
TRANSIENT = {40100, 40132, 50000, 50002, 60001, 61000}
TRANSIENT_RANGES = (range(51000, 52000), range(52000, 53000))
# no permission, token expired (40102), refresh token invalid or expired (40103, 40107), token invalid or
# revoked (40104, 40105), advertiser not authorised (40113, 40130), account-level denials (40300, 40301);
# 40002 is a parameter error (fatal) and 40200-40202 are task errors a synchronous report does not retry
AUTH = {40001, 40102, 40103, 40104, 40105, 40107, 40113, 40130, 40300, 40301}
MAX_WINDOW_DAYS = 30
RESTATEMENT_DAYS = 28  # conversions land up to the longest click attribution window (28 days) late
METRICS = ["spend", "impressions", "clicks", "complete_payment", "total_complete_payment_rate"]


def classify(response: httpx.Response) -> tuple[Failure, str]:
    """TikTok reports errors as HTTP 200 with a non-zero code."""
    if response.status_code != 200:
        return http_status_failure(response)
    try:
        code = response.json().get("code", 0)
    except ValueError:
        return Failure.TRANSIENT, "truncated or invalid JSON"
    if code == 0:
        return Failure.NONE, ""
    if code in TRANSIENT or any(code in r for r in TRANSIENT_RANGES):
        return Failure.TRANSIENT, f"code {code}"
    if code in AUTH:
        return Failure.AUTH, f"code {code}"
    return Failure.FATAL, f"code {code}"


def _metric(value: Any) -> str | None:
    return None if value in (None, "-", "") else str(value)  # "-" is TikTok's NULL


def windows(window: Window) -> Iterator[tuple[date, date]]:
    """The report allows at most 30 days per request."""
    start = window.since
    while start <= window.until:
        end = min(window.until, start + timedelta(days=MAX_WINDOW_DAYS - 1))
        yield start, end
        start = end + timedelta(days=1)


@dataclass(frozen=True)
class TikTokConfig:
    base_url: str
    advertiser_id: str
    token: str
    project: str

    @classmethod
    def from_env(cls) -> TikTokConfig:
        return cls(base_url=env("TIKTOK_BASE_URL", "https://business-api.tiktok.com").rstrip("/"),
                   advertiser_id=env("TIKTOK_ADVERTISER_ID"), token=env("TIKTOK_ACCESS_TOKEN"),
                   project=env("ETL_PROJECT", "default"))


class TikTokSource:
    name = "source-b"
    table = "spend"

    def __init__(self, config: TikTokConfig, client: SourceClient) -> None:
        self.config, self.client = config, client
        self.facts: dict[str, Any] = {"api_version": "v1.3", "metrics": ",".join(METRICS)}

    @classmethod
    def from_env(cls, **client_options: Any) -> TikTokSource:
        return cls(TikTokConfig.from_env(), SourceClient("source-b (TikTok)", "TIKTOK_ACCESS_TOKEN", classify,
                                                          **client_options))

    def advertiser(self) -> tuple[str, str]:
        """The advertiser's reporting time zone and currency, as its account states them."""
        _, body = self.client.get(f"{self.config.base_url}/open_api/v1.3/advertiser/info/",
                                  params={"advertiser_ids": json.dumps([self.config.advertiser_id]),
                                          "fields": json.dumps(["timezone", "display_timezone", "currency"])},
                                  headers={"Access-Token": self.config.token})
        found = (body.get("data") or {}).get("list") or [{}]
        info = found[0]
        return info.get("display_timezone") or info.get("timezone") or TORONTO, info.get("currency") or "USD"

    def pages(self, window: Window, cursor: dict[str, Any] | None) -> Iterator[Page]:
        url = f"{self.config.base_url}/open_api/v1.3/report/integrated/get/"
        if cursor and cursor.get("last_day"):  # incremental: late conversions restate the last days
            window = Window(min(window.since, window.until - timedelta(days=RESTATEMENT_DAYS)), window.until)
        timezone, currency = self.advertiser()
        self.facts.update(account_timezone=timezone, currency=currency)
        warnings = [] if timezone == TORONTO else [
            f"source-b: advertiser {self.config.advertiser_id} reports days in {timezone}, not {TORONTO}; its "
            "days are stored as reported, not shifted"]
        total = (window.until - window.since).days + 1
        for start, end in windows(window):
            page = 1
            while True:
                params = {"advertiser_id": self.config.advertiser_id, "report_type": "BASIC",
                          "data_level": "AUCTION_CAMPAIGN", "dimensions": json.dumps(["campaign_id", "stat_time_day"]),
                          "metrics": json.dumps(METRICS), "start_date": start.isoformat(), "end_date": end.isoformat(),
                          "page": page, "page_size": 1000}
                _, body = self.client.get(url, params=params, headers={"Access-Token": self.config.token})
                data = body.get("data", {})
                rows = [self._row(item, timezone, currency) for item in data.get("list", [])]
                total_pages = int(data.get("page_info", {}).get("total_page", 1) or 1)
                read = (end if page >= total_pages else start - timedelta(days=1)) - window.since
                yield Page(rows, {"last_day": end.isoformat(), "page": page}, warnings,
                           progress=(read.days + 1) / total)
                if page >= total_pages:
                    break
                page += 1

    def _row(self, item: dict[str, Any], timezone: str, currency: str) -> dict[str, Any]:
        dims, metrics = item["dimensions"], item["metrics"]
        spend = _metric(metrics.get("spend"))
        return {"project": self.config.project, "platform": "tiktok", "account_id": self.config.advertiser_id,
                "campaign_id": str(dims["campaign_id"]), "dt": str(dims["stat_time_day"])[:10],
                "account_timezone": timezone, "currency": currency, "spend": spend or "0",
                "impressions": _metric(metrics.get("impressions")), "clicks": _metric(metrics.get("clicks")),
                "conversions": _metric(metrics.get("complete_payment")),
                "conversion_value": _metric(metrics.get("total_complete_payment_rate"))}
