"""Source A: Meta Marketing API insights, one row per campaign and day.

Short windows are read synchronously, page by page; windows longer than META_ASYNC_AFTER_DAYS run as an async
insights job (POST .../insights -> report run id -> poll async_status -> page its results), as Meta recommends
for large reports. A range Meta calls too large is split in halves and asked again."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any

from healstack.errors import ConfigError
from healstack.etl.http import RequestTooLarge, SourceClient, SourceError, poll
from healstack.etl.sources import TORONTO, Page, Window, env
from healstack.etl.sources import meta_api as api

RESTATEMENT_DAYS = 28  # Meta restates the last 28 days: every incremental run pulls them again
FIELDS = "campaign_id,spend,impressions,clicks,actions,action_values"
ASYNC_WAIT_S = 3600.0  # the most an async job is waited for (polls pause 2 s, doubling up to 30 s)
classify = api.classify  # the fixture stand-in classifies recorded errors as the real client does


@dataclass(frozen=True)
class MetaConfig:
    base_url: str
    version: str
    account_id: str
    token: str
    project: str
    purchase_action: str = "omni_purchase"
    app_secret: str | None = None
    attribution: tuple[str, ...] = ()  # empty: the account's default attribution setting
    async_after_days: int = 31

    @classmethod
    def from_env(cls) -> MetaConfig:
        raw_days = env("META_ASYNC_AFTER_DAYS", "31")
        if not raw_days.isdigit() or int(raw_days) < 1:
            raise ConfigError(f"META_ASYNC_AFTER_DAYS={raw_days!r} is not a number of days above 0")
        windows = tuple(w.strip() for w in env("META_ATTRIBUTION_WINDOWS", "", required=False).split(",") if w.strip())
        return cls(base_url=env("META_BASE_URL", "https://graph.facebook.com").rstrip("/"),
                   version=api.version(env("META_API_VERSION", api.DEFAULT_VERSION), datetime.now(UTC).date()),
                   account_id=env("META_ACCOUNT_ID"), token=env("META_ACCESS_TOKEN"),
                   project=env("ETL_PROJECT", "default"), purchase_action=env("META_PURCHASE_ACTION", "omni_purchase"),
                   app_secret=env("META_APP_SECRET", required=False) or None, attribution=windows,
                   async_after_days=int(raw_days))


def _action(values: list[dict[str, Any]] | None, action_type: str) -> str | None:
    """The value of exactly one action type: purchase and omni_purchase overlap, never add them up."""
    for item in values or []:
        if item.get("action_type") == action_type:
            return str(item.get("value"))
    return None


def halves(since: date, until: date) -> list[tuple[date, date]]:
    middle = since + timedelta(days=(until - since).days // 2)
    return [(since, middle), (middle + timedelta(days=1), until)]


class MetaSource:
    name = "source-a"
    table = "spend"

    def __init__(self, config: MetaConfig, client: SourceClient) -> None:
        self.config, self.client = config, client
        self.facts: dict[str, Any] = {"api_version": f"v{config.version}", "attribution": (
            ",".join(config.attribution) if config.attribution else "the account's default (not overridden)")}

    @classmethod
    def from_env(cls, **client_options: Any) -> MetaSource:
        return cls(MetaConfig.from_env(), SourceClient("source-a (Meta)", "META_ACCESS_TOKEN", api.classify,
                                                        api.wait_hint, **client_options))

    def _url(self, path: str) -> str:
        return f"{self.config.base_url}/v{self.config.version}/{path}"

    def _auth(self) -> dict[str, str]:
        auth = {"access_token": self.config.token}
        if self.config.app_secret:
            auth["appsecret_proof"] = api.appsecret_proof(self.config.token, self.config.app_secret)
        return auth

    def _get(self, path: str, params: dict[str, Any]) -> Any:
        response, body = self.client.get(self._url(path), params={**params, **self._auth()})
        pause = api.pause_for(api.usage_percent(response))
        if pause:
            self.client.sleep(pause)  # close to the account's limit: slow down rather than be blocked
        return body

    def account_timezone(self) -> tuple[str, str]:
        body = self._get(f"act_{self.config.account_id}", {"fields": "timezone_name,currency"})
        return body.get("timezone_name", TORONTO), body.get("currency", "USD")

    def _params(self, since: date, until: date) -> dict[str, Any]:
        params: dict[str, Any] = {
            "level": "campaign", "time_increment": 1, "fields": FIELDS, "limit": 500,
            "time_range": f'{{"since":"{since.isoformat()}","until":"{until.isoformat()}"}}'}
        if self.config.attribution:
            params["action_attribution_windows"] = "[" + ",".join(f'"{w}"' for w in self.config.attribution) + "]"
        return params

    def pages(self, window: Window, cursor: dict[str, Any] | None) -> Iterator[Page]:
        since = window.since
        if cursor and cursor.get("last_day"):  # incremental: from the restatement horizon
            since = min(since, window.until - timedelta(days=RESTATEMENT_DAYS))
        timezone, currency = self.account_timezone()
        self.facts.update(account_timezone=timezone, currency=currency)
        warnings = [w for w in [api.expiry_warning(self.config.version, datetime.now(UTC).date())] if w]
        if timezone != TORONTO:
            warnings.append(f"source-a: account act_{self.config.account_id} reports days in {timezone}, not "
                            f"{TORONTO}; its days are stored as reported, not shifted")
        ranges, total, done = [(since, window.until)], (window.until - since).days + 1, 0
        while ranges:
            start, end = ranges.pop(0)
            days = (end - start).days + 1
            read = self._async if days > self.config.async_after_days else self._sync
            try:
                for rows, after in read(start, end):
                    yield Page([self._row(item, timezone, currency) for item in rows],
                               {"last_day": window.until.isoformat(), "after": after}, warnings,
                               progress=(done + (days if after is None else 0)) / total)
            except RequestTooLarge as e:
                if start == end:
                    raise SourceError(f"{e}; even one day is too large for this account") from None
                ranges[:0] = halves(start, end)  # ask again for each half (pages already loaded stay: upserts)
                continue
            done += days

    def _sync(self, since: date, until: date) -> Iterator[tuple[list[dict[str, Any]], str | None]]:
        return self._paged(f"act_{self.config.account_id}/insights", self._params(since, until))

    def _paged(self, path: str, params: dict[str, Any]) -> Iterator[tuple[list[dict[str, Any]], str | None]]:
        """Each page's rows and the cursor after it (None on the last page)."""
        while True:
            body = self._get(path, params)
            after = body.get("paging", {}).get("cursors", {}).get("after")
            has_next = bool(body.get("paging", {}).get("next")) and bool(after)
            yield body.get("data", []), after if has_next else None
            if not has_next:
                return
            params = {**params, "after": after}

    def _async(self, since: date, until: date) -> Iterator[tuple[list[dict[str, Any]], str | None]]:
        """An async insights job for the range: start it, poll it until it completes, page its results."""
        params = self._params(since, until)
        params.pop("limit")
        _, started = self.client.post(self._url(f"act_{self.config.account_id}/insights"),
                                      params={**params, **self._auth()})
        run_id = str(started.get("report_run_id") or "")
        if not run_id:
            raise SourceError(f"source-a: the async insights job for {since}..{until} returned no report_run_id")
        job = f"source-a: the async insights job {run_id} for {since}..{until}"

        def finished() -> bool:
            status = self._get(run_id, {"fields": "async_status,async_percent_completion"})
            if status.get("async_status") in ("Job Failed", "Job Skipped"):
                raise SourceError(f"{job} ended '{status['async_status']}'; run again, or lower "
                                  "META_ASYNC_AFTER_DAYS to split the range")
            # done when both say so (the SDK's AdReportRun reads completion as async_percent_completion == 100)
            return bool(status.get("async_status") == "Job Completed"
                        and int(status.get("async_percent_completion") or 100) >= 100)
        poll(job, finished, self.client.sleep, budget=ASYNC_WAIT_S)
        yield from self._paged(f"{run_id}/insights", {"limit": 500})

    def _row(self, item: dict[str, Any], timezone: str, currency: str) -> dict[str, Any]:
        action = self.config.purchase_action
        return {"project": self.config.project, "platform": "meta", "account_id": self.config.account_id,
                "campaign_id": str(item["campaign_id"]), "dt": item["date_start"], "account_timezone": timezone,
                "currency": currency, "spend": item.get("spend") or "0", "impressions": item.get("impressions"),
                "clicks": item.get("clicks"), "conversions": _action(item.get("actions"), action),
                "conversion_value": _action(item.get("action_values"), action)}
