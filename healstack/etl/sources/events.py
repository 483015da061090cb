"""Product events from the stack's events API: `GET /events?since=...&until=...&cursor=...` ->
{data, next_cursor} (the contract is in the README). A run reads from where the last one's newest event was
(less an overlap, for events that arrive late), not from the first run's start, so its cost does not grow with
history; events at or after the window's end are left for the run that covers them."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from healstack.etl.http import SourceClient
from healstack.etl.sources import TORONTO, BadRecord, Page, Window, env

OVERLAP = timedelta(minutes=10)  # events stamped before the newest one seen but delivered after it


def _stamps(events: list[dict[str, Any]]) -> list[datetime]:
    """Each event's occurred_at, parsed; a value that is not a timestamp with an offset names the field."""
    try:
        stamps = [datetime.fromisoformat(e["occurred_at"]) for e in events]
    except (TypeError, ValueError):
        stamps = []
    if len(stamps) == len(events) and all(stamp.tzinfo is not None for stamp in stamps):
        return stamps
    for e in events:  # the slow way, only to name the bad value
        value = e["occurred_at"]
        try:
            if datetime.fromisoformat(value).tzinfo is not None:
                continue
        except (TypeError, ValueError):
            pass
        raise BadRecord(f"field occurred_at: {str(value)[:40]!r} is not a timestamp with a time zone")
    return stamps


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
        zone = ZoneInfo(TORONTO)
        start = datetime.combine(window.since, time.min, zone)
        until = datetime.combine(window.until + timedelta(days=1), time.min, zone)
        saved = cursor or {}
        newest = datetime.fromisoformat(saved["newest"]) if saved.get("newest") else None
        if saved.get("cursor") and saved.get("since"):   # a run stopped between pages: go on where it stopped
            since = datetime.fromisoformat(saved["since"])
        elif newest is not None and start <= newest - OVERLAP < until:
            since = newest - OVERLAP                     # the window's part already read is not read again
        else:
            since = start
        next_cursor = saved.get("cursor") if saved.get("since") else None
        while True:
            params = {"since": since.isoformat(), "until": until.isoformat(),
                      **({"cursor": next_cursor} if next_cursor else {})}
            _, body = self.client.get(f"{self.config.base_url}/events", params=params,
                                      headers={"Authorization": f"Bearer {self.config.token}"})
            events = body.get("data", [])
            stamps = _stamps(events)
            if stamps and max(stamps) >= until:  # the API may not honour until: the window's end is ours to keep
                kept = [(e, stamp) for e, stamp in zip(events, stamps, strict=True) if stamp < until]
                events, stamps = [e for e, _ in kept], [stamp for _, stamp in kept]
            if stamps:
                newest = max(stamps) if newest is None else max(newest, *stamps)
            rows = [{"project": self.config.project, "event_id": str(e["id"]), "name": e["name"],
                     "user_id": e.get("user_id"), "occurred_at": e["occurred_at"],
                     "properties": e.get("properties") or {}, "source": "events_api"} for e in events]
            next_cursor = body.get("next_cursor")
            yield Page(rows, {"since": since.isoformat(), "cursor": next_cursor,
                              "newest": newest.isoformat() if newest else None})
            if not next_cursor:
                return
