"""Product events from the events API: `GET /events?since=...&cursor=...` -> {data, next_cursor}."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, time
from typing import Any
from zoneinfo import ZoneInfo

from healstack.etl.http import SourceClient
from healstack.etl.sources import TORONTO, Page, Window, env


@dataclass(frozen=True)
class EventsConfig:
    base_url: str
    token: str
    project: str

    @classmethod
    def from_env(cls) -> EventsConfig:
        return cls(base_url=env("EVENTS_BASE_URL").rstrip("/"), token=env("EVENTS_TOKEN"),
                   project=env("ETL_PROJECT", "default"))


class EventsSource:
    name = "events"
    table = "events"

    def __init__(self, config: EventsConfig, client: SourceClient) -> None:
        self.config, self.client = config, client

    @classmethod
    def from_env(cls, **client_options: Any) -> EventsSource:
        return cls(EventsConfig.from_env(), SourceClient("events", "EVENTS_TOKEN", **client_options))

    def pages(self, window: Window, cursor: dict[str, Any] | None) -> Iterator[Page]:
        since = (cursor or {}).get("since") or datetime.combine(window.since, time.min, ZoneInfo(TORONTO)).isoformat()
        next_cursor = (cursor or {}).get("cursor")
        while True:
            params = {"since": since, **({"cursor": next_cursor} if next_cursor else {})}
            _, body = self.client.get(f"{self.config.base_url}/events", params=params,
                                      headers={"Authorization": f"Bearer {self.config.token}"})
            rows = [{"project": self.config.project, "event_id": str(e["id"]), "name": e["name"],
                     "user_id": e.get("user_id"), "occurred_at": e["occurred_at"],
                     "properties": e.get("properties") or {}, "source": "events_api"} for e in body.get("data", [])]
            next_cursor = body.get("next_cursor")
            yield Page(rows, {"since": since, "cursor": next_cursor})
            if not next_cursor:
                return
