"""Recorded API pages standing in for a source on the embedded default, so a rehearsal loads real rows and data
quality judges them (not empty tables). The pages are served by an httpx transport, never a socket, and their
dates are moved so the newest one is recent: a source's timestamps so that its latest is an hour ago, its dates
so that its latest is yesterday (Toronto); the rows' shape and order are the recording's."""

from __future__ import annotations

import json
import re
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import httpx

from healstack.etl.http import SourceClient, http_status_failure
from healstack.etl.sources import TORONTO, meta_api, shopify_graphql
from healstack.etl.sources.events import EventsConfig, EventsSource
from healstack.etl.sources.meta import MetaConfig, MetaSource
from healstack.etl.sources.shopify import ShopifyConfig, ShopifySource
from healstack.etl.sources.tiktok import TikTokConfig, TikTokSource
from healstack.etl.sources.tiktok import classify as tiktok_classify

_STAMP = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(?:\.\d+)?(?:Z|[+-]\d{2}:\d{2})")
_DAY = re.compile(r"(?<![\d-])\d{4}-\d{2}-\d{2}(?![\dT])")
BASE = "https://{name}.fixtures.invalid"  # .invalid: a name no resolver answers, should anything leak out


def _stamp(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


class Recording:
    """A source's recorded pages, their dates moved to the last days."""

    def __init__(self, directory: Path, now: datetime) -> None:
        self.pages = {p.name: p.read_text(encoding="utf-8") for p in directory.glob("*.json")}
        text = "".join(self.pages.values())
        stamps = [_stamp(s) for s in _STAMP.findall(text)]
        days = [date.fromisoformat(d) for d in _DAY.findall(_STAMP.sub("", text))]
        yesterday = now.astimezone(ZoneInfo(TORONTO)).date() - timedelta(days=1)
        self.shift = now - timedelta(hours=1) - max(stamps) if stamps else timedelta(0)
        self.day_shift = yesterday - max(days) if days else self.shift

    def page(self, name: str) -> Any:
        def moved_stamp(m: re.Match[str]) -> str:
            return (_stamp(m[0]) + self.shift).isoformat()

        def moved_day(m: re.Match[str]) -> str:
            return (date.fromisoformat(m[0]) + timedelta(days=self.day_shift.days)).isoformat()
        return json.loads(_DAY.sub(moved_day, _STAMP.sub(moved_stamp, self.pages[name])))


def _route(name: str, request: httpx.Request, recording: Recording) -> httpx.Response:
    params, path = request.url.params, request.url.path
    if name == "events":
        return httpx.Response(200, json=recording.page("page2.json" if params.get("cursor") else "page1.json"))
    if name == "source-a":
        if path.endswith("/insights"):
            return httpx.Response(200, json=recording.page("insights_page2.json" if params.get("after")
                                                           else "insights_page1.json"))
        return httpx.Response(200, json=recording.page("account.json"))
    if name == "source-b":
        if path.endswith("/advertiser/info/"):
            return httpx.Response(200, json=recording.page("advertiser.json"))
        return httpx.Response(200, json=recording.page(f"report_page{params.get('page', '1')}.json"))
    after = json.loads(request.content or b"{}").get("variables", {}).get("after")
    return httpx.Response(200, json=recording.page("orders_page2.json" if after else "orders_page1.json"))


def stand_in(name: str, directory: Path, project: str, now: datetime) -> Any:
    """The source ``name`` reading its recorded pages in ``directory`` instead of its API."""
    recording = Recording(directory, now.replace(microsecond=0))
    classify = {"source-a": meta_api.classify, "source-b": tiktok_classify, "shopify": shopify_graphql.classify}.get(
        name, http_status_failure)
    client = SourceClient(f"{name} (fixture-served)", "(fixtures)", classify, sleep=lambda _s: None,
                          transport=httpx.MockTransport(lambda request: _route(name, request, recording)))
    base = BASE.format(name=name)
    if name == "events":
        return EventsSource(EventsConfig(base, "fixture", project), client)
    if name == "source-a":
        return MetaSource(MetaConfig(base, meta_api.DEFAULT_VERSION, "1234", "fixture", project), client)
    if name == "source-b":
        return TikTokSource(TikTokConfig(base, "777", "fixture", project), client)
    return ShopifySource(ShopifyConfig(base, "2026-10", "fixture", project, base.split("//", 1)[1]), client)
