"""Shopify orders, incremental on updated_at with an overlap, paged by the Link header."""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, time, timedelta
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

import httpx

from healstack.etl.http import SourceClient
from healstack.etl.sources import TORONTO, Page, Window, env

OVERLAP = timedelta(minutes=10)  # orders updated while the last run paged are pulled again
_NEXT = re.compile(r'<([^>]+)>;\s*rel="next"')
PACE_ABOVE = 0.8  # of the call limit bucket


def next_link(response: httpx.Response) -> str | None:
    match = _NEXT.search(response.headers.get("Link", ""))
    return match.group(1) if match else None


@dataclass(frozen=True)
class ShopifyConfig:
    base_url: str
    version: str
    token: str
    project: str
    shop_domain: str

    @classmethod
    def from_env(cls) -> ShopifyConfig:
        store = env("SHOPIFY_STORE", required=False)
        base = env("SHOPIFY_BASE_URL", f"https://{store}.myshopify.com" if store else None).rstrip("/")
        return cls(base_url=base, version=env("SHOPIFY_API_VERSION", "2025-01"), token=env("SHOPIFY_ACCESS_TOKEN"),
                   project=env("ETL_PROJECT", "default"), shop_domain=base.split("//", 1)[-1])


def _refunded(order: dict[str, Any]) -> str:
    total = sum((Decimal(str(t.get("amount", "0"))) for refund in order.get("refunds", [])
                 for t in refund.get("transactions", []) if t.get("kind") == "refund"), Decimal(0))
    return str(total)


class ShopifySource:
    name = "shopify"
    table = "orders"

    def __init__(self, config: ShopifyConfig, client: SourceClient) -> None:
        self.config, self.client = config, client

    @classmethod
    def from_env(cls, **client_options: Any) -> ShopifySource:
        return cls(ShopifyConfig.from_env(), SourceClient("shopify", "SHOPIFY_ACCESS_TOKEN", **client_options))

    def pages(self, window: Window, cursor: dict[str, Any] | None) -> Iterator[Page]:
        zone = ZoneInfo(TORONTO)
        since = datetime.combine(window.since, time.min, zone)
        if cursor and cursor.get("updated_at_max"):
            since = datetime.fromisoformat(cursor["updated_at_max"]) - OVERLAP
        until = datetime.combine(window.until + timedelta(days=1), time.min, zone)
        url: str | None = f"{self.config.base_url}/admin/api/{self.config.version}/orders.json"
        params: dict[str, Any] | None = {"status": "any", "updated_at_min": since.isoformat(),
                                         "updated_at_max": until.isoformat(), "limit": 250}
        headers = {"X-Shopify-Access-Token": self.config.token}
        newest = since
        while url:
            response, body = self.client.get(url, params=params, headers=headers)
            rows = [self._row(order) for order in body.get("orders", [])]
            for row in rows:
                newest = max(newest, datetime.fromisoformat(row["source_updated_at"]))
            url, params = next_link(response), None  # the next link carries every parameter
            yield Page(rows, {"updated_at_max": newest.isoformat(), "page_info": url})
            self._pace(response)

    def _pace(self, response: httpx.Response) -> None:
        """Slow down when the leaky bucket is nearly full (X-Shopify-Shop-Api-Call-Limit: used/size)."""
        used, _, size = response.headers.get("X-Shopify-Shop-Api-Call-Limit", "0/1").partition("/")
        if size.isdigit() and used.isdigit() and int(used) / int(size) > PACE_ABOVE:
            self.client.sleep(1.0)

    def _row(self, order: dict[str, Any]) -> dict[str, Any]:
        customer = order.get("customer") or {}
        return {"project": self.config.project, "shop_domain": self.config.shop_domain, "order_id": order["id"],
                "order_name": order.get("name"), "placed_at": order["created_at"],
                "source_updated_at": order["updated_at"], "cancelled_at": order.get("cancelled_at"),
                "financial_status": order.get("financial_status"), "currency": order.get("currency", "USD"),
                "total_price": order.get("total_price", "0"), "subtotal_price": order.get("subtotal_price"),
                "total_tax": order.get("total_tax"), "total_discounts": order.get("total_discounts"),
                "total_refunded": _refunded(order), "customer_id": customer.get("id"),
                "line_items": [{"sku": li.get("sku"), "quantity": li.get("quantity"), "price": li.get("price")}
                               for li in order.get("line_items", [])]}
