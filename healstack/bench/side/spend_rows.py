"""The ETL benchmark's spend rows, as a source would yield them; standard library only, so the dlt side
environment builds exactly the same rows."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

START = date(2024, 1, 1)


def spend_rows(count: int) -> list[dict[str, Any]]:
    return [{"project": "bench", "platform": "meta" if i % 2 else "tiktok", "account_id": f"a{i % 7}",
             "campaign_id": f"c{i // 400}", "dt": (START + timedelta(days=i % 400)).isoformat(),
             "account_timezone": "America/Toronto", "currency": "USD", "spend": f"{i % 997}.25",
             "impressions": str(i % 10_000), "clicks": str(i % 300), "conversions": str(i % 5),
             "conversion_value": f"{i % 50}.10"} for i in range(count)]
