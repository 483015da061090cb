"""Source B: TikTok Business API integrated report, one row per campaign and day."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

import httpx

from healstack.etl.http import Failure, SourceClient, http_status_failure
from healstack.etl.sources import TORONTO, Page, Window, env

RATE_LIMIT, TRANSIENT = 40100, {40200, 40201, 40202, 50000, 50002}
AUTH = {40001, 40002, 40104, 40105}
MAX_WINDOW_DAYS = 30
METRICS = ["spend", "impressions", "clicks", "conversion", "total_complete_payment_rate"]


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
    if code == RATE_LIMIT or code in TRANSIENT:
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

    @classmethod
    def from_env(cls, **client_options: Any) -> TikTokSource:
        return cls(TikTokConfig.from_env(), SourceClient("source-b (TikTok)", "TIKTOK_ACCESS_TOKEN", classify,
                                                          **client_options))

    def pages(self, window: Window, cursor: dict[str, Any] | None) -> Iterator[Page]:
        url = f"{self.config.base_url}/open_api/v1.3/report/integrated/get/"
        for start, end in windows(window):
            page = 1
            while True:
                params = {"advertiser_id": self.config.advertiser_id, "report_type": "BASIC",
                          "data_level": "AUCTION_CAMPAIGN", "dimensions": json.dumps(["campaign_id", "stat_time_day"]),
                          "metrics": json.dumps(METRICS), "start_date": start.isoformat(), "end_date": end.isoformat(),
                          "page": page, "page_size": 1000}
                _, body = self.client.get(url, params=params, headers={"Access-Token": self.config.token})
                data = body.get("data", {})
                rows = [self._row(item) for item in data.get("list", [])]
                total_pages = int(data.get("page_info", {}).get("total_page", 1) or 1)
                yield Page(rows, {"last_day": end.isoformat(), "page": page})
                if page >= total_pages:
                    break
                page += 1

    def _row(self, item: dict[str, Any]) -> dict[str, Any]:
        dims, metrics = item["dimensions"], item["metrics"]
        spend = _metric(metrics.get("spend"))
        return {"project": self.config.project, "platform": "tiktok", "account_id": self.config.advertiser_id,
                "campaign_id": str(dims["campaign_id"]), "dt": str(dims["stat_time_day"])[:10],
                "account_timezone": TORONTO, "currency": "USD", "spend": spend or "0",
                "impressions": _metric(metrics.get("impressions")), "clicks": _metric(metrics.get("clicks")),
                "conversions": _metric(metrics.get("conversion")), "conversion_value": None}
