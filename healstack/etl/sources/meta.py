"""Source A: Meta Marketing API insights, one row per campaign and day."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import httpx

from healstack.etl.http import Failure, SourceClient, http_status_failure
from healstack.etl.sources import TORONTO, Page, Window, env

# Throttling and transient errors arrive as HTTP 400 with these codes (and is_transient).
THROTTLE_CODES = {4, 17, 613, *range(80000, 80015)}
AUTH_CODES = {190}
RESTATEMENT_DAYS = 28  # Meta restates the last 28 days: every incremental run pulls them again
FIELDS = "campaign_id,spend,impressions,clicks,actions,action_values"


def classify(response: httpx.Response) -> tuple[Failure, str]:
    if response.status_code == 400:
        try:
            error = response.json().get("error", {})
        except ValueError:
            return Failure.FATAL, "HTTP 400"
        code = error.get("code")
        if code in AUTH_CODES:
            return Failure.AUTH, f"error code {code}"
        if code in THROTTLE_CODES or error.get("is_transient"):
            return Failure.TRANSIENT, f"throttled (error code {code})"
        return Failure.FATAL, f"error code {code}: {error.get('message', '')}"
    return http_status_failure(response)


@dataclass(frozen=True)
class MetaConfig:
    base_url: str
    version: str
    account_id: str
    token: str
    project: str
    purchase_action: str

    @classmethod
    def from_env(cls) -> MetaConfig:
        return cls(base_url=env("META_BASE_URL", "https://graph.facebook.com").rstrip("/"),
                   version=env("META_API_VERSION", "21.0"), account_id=env("META_ACCOUNT_ID"),
                   token=env("META_ACCESS_TOKEN"), project=env("ETL_PROJECT", "default"),
                   purchase_action=env("META_PURCHASE_ACTION", "omni_purchase"))


def _action(values: list[dict[str, Any]] | None, action_type: str) -> str | None:
    """The value of exactly one action type: purchase and omni_purchase overlap, never add them up."""
    for item in values or []:
        if item.get("action_type") == action_type:
            return str(item.get("value"))
    return None


class MetaSource:
    name = "source-a"
    table = "spend"

    def __init__(self, config: MetaConfig, client: SourceClient) -> None:
        self.config, self.client = config, client

    @classmethod
    def from_env(cls, **client_options: Any) -> MetaSource:
        return cls(MetaConfig.from_env(), SourceClient("source-a (Meta)", "META_ACCESS_TOKEN", classify,
                                                        **client_options))

    def _url(self, path: str) -> str:
        return f"{self.config.base_url}/v{self.config.version}/{path}"

    def account_timezone(self) -> tuple[str, str]:
        _, body = self.client.get(self._url(f"act_{self.config.account_id}"),
                                  params={"fields": "timezone_name,currency", "access_token": self.config.token})
        return body.get("timezone_name", TORONTO), body.get("currency", "USD")

    def pages(self, window: Window, cursor: dict[str, Any] | None) -> Iterator[Page]:
        since = window.since
        if cursor and cursor.get("last_day"):  # incremental: from the restatement horizon
            since = min(since, window.until - timedelta(days=RESTATEMENT_DAYS))
        timezone, currency = self.account_timezone()
        warnings = [] if timezone == TORONTO else [
            f"source-a: account act_{self.config.account_id} reports days in {timezone}, not {TORONTO}; "
            "its days are stored as reported, not shifted"]
        params: dict[str, Any] = {
            "level": "campaign", "time_increment": 1, "fields": FIELDS, "limit": 500,
            "time_range": f'{{"since":"{since.isoformat()}","until":"{window.until.isoformat()}"}}',
            "access_token": self.config.token}
        while True:
            _, body = self.client.get(self._url(f"act_{self.config.account_id}/insights"), params=params)
            rows = [self._row(item, timezone, currency) for item in body.get("data", [])]
            after = body.get("paging", {}).get("cursors", {}).get("after")
            has_next = bool(body.get("paging", {}).get("next"))
            yield Page(rows, {"last_day": window.until.isoformat(), "after": after if has_next else None}, warnings)
            if not has_next or not after:
                return
            params = {**params, "after": after}

    def _row(self, item: dict[str, Any], timezone: str, currency: str) -> dict[str, Any]:
        action = self.config.purchase_action
        return {"project": self.config.project, "platform": "meta", "account_id": self.config.account_id,
                "campaign_id": str(item["campaign_id"]), "dt": item["date_start"], "account_timezone": timezone,
                "currency": currency, "spend": item.get("spend") or "0", "impressions": item.get("impressions"),
                "clicks": item.get("clicks"), "conversions": _action(item.get("actions"), action),
                "conversion_value": _action(item.get("action_values"), action)}
