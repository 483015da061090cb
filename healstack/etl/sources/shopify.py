"""Shopify orders from the GraphQL Admin API, incremental on updated_at with an overlap: paged by cursor
under the cost-based throttle for recent days, as a bulk operation for a backfill.

The token is a static Admin API token (SHOPIFY_ACCESS_TOKEN) or, as a store's own app gets it since custom apps
can no longer be created in the admin (January 2026), the client-credentials grant (SHOPIFY_CLIENT_ID and
SHOPIFY_CLIENT_SECRET): a token valid for about a day, fetched again before it runs out."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from datetime import time as day_start
from typing import Any
from zoneinfo import ZoneInfo

from healstack.errors import ConfigError
from healstack.etl.http import SourceClient, SourceError, poll
from healstack.etl.sources import TORONTO, Page, Window, env
from healstack.etl.sources import shopify_graphql as gql

OVERLAP = timedelta(minutes=10)  # orders updated while the last run paged are pulled again
PAGE_SIZE = 25                   # 25 orders of 50 line items stay under the 1,000-point single query limit
RECENT_DAYS = 60                 # older orders need the read_all_orders scope
BULK_WAIT_S = 3 * 3600.0        # the most a bulk operation is waited for (polls pause 2 s, doubling up to 30 s)
REFRESH_BEFORE = 300.0           # fetch a new client-credentials token this many seconds before it expires


@dataclass(frozen=True)
class ShopifyConfig:
    base_url: str
    version: str
    token: str | None
    project: str
    shop_domain: str
    client_id: str | None = None
    client_secret: str | None = None
    bulk_after_days: int = 31

    @classmethod
    def from_env(cls) -> ShopifyConfig:
        store = env("SHOPIFY_STORE", required=False)
        base = env("SHOPIFY_BASE_URL", f"https://{store}.myshopify.com" if store else None).rstrip("/")
        token = env("SHOPIFY_ACCESS_TOKEN", required=False) or None
        client_id = env("SHOPIFY_CLIENT_ID", required=False) or None
        secret = env("SHOPIFY_CLIENT_SECRET", required=False) or None
        if not token and not (client_id and secret):
            raise ConfigError("SHOPIFY_ACCESS_TOKEN is not set, nor SHOPIFY_CLIENT_ID and SHOPIFY_CLIENT_SECRET")
        days = env("SHOPIFY_BULK_AFTER_DAYS", "31")
        if not days.isdigit() or int(days) < 1:
            raise ConfigError(f"SHOPIFY_BULK_AFTER_DAYS={days!r} is not a number of days above 0")
        return cls(base_url=base, version=env("SHOPIFY_API_VERSION", "2026-10"), token=token,
                   project=env("ETL_PROJECT", "default"), shop_domain=base.split("//", 1)[-1], client_id=client_id,
                   client_secret=secret, bulk_after_days=int(days))


class Token:
    """The Admin API token: the static one, or a client-credentials grant refreshed before it expires."""

    def __init__(self, config: ShopifyConfig, client: SourceClient, clock: Callable[[], float] = time.monotonic):
        self.config, self.client, self.clock = config, client, clock
        self.value, self.expires, self.scopes = config.token, float("inf"), None if config.token else set[str]()

    def __call__(self) -> str:
        if self.config.token:
            return self.config.token
        if self.value is None or self.clock() > self.expires - REFRESH_BEFORE:
            try:
                _, body = self.client.post(f"{self.config.base_url}/admin/oauth/access_token", data={
                    "grant_type": "client_credentials", "client_id": self.config.client_id,
                    "client_secret": self.config.client_secret})
            except SourceError as e:
                if "gave up" in str(e):
                    raise
                raise SourceError("shopify: the client-credentials grant was refused; check SHOPIFY_CLIENT_ID and "
                                  "SHOPIFY_CLIENT_SECRET, and that the app is installed on this store") from None
            if not isinstance(body, dict) or not body.get("access_token"):
                raise SourceError("shopify: the client-credentials grant returned no access token; check "
                                  "SHOPIFY_CLIENT_ID and SHOPIFY_CLIENT_SECRET")
            self.value = str(body["access_token"])
            self.expires = self.clock() + float(body.get("expires_in") or 86399)
            self.scopes = {s.strip() for s in str(body.get("scope", "")).split(",") if s.strip()}
        assert self.value is not None
        return self.value


class ShopifySource:
    name = "shopify"
    table = "orders"

    def __init__(self, config: ShopifyConfig, client: SourceClient) -> None:
        self.config, self.client = config, client
        self.token = Token(config, client)
        self.facts: dict[str, Any] = {"api": f"GraphQL Admin API {config.version}",
                                      "auth": "static token" if config.token else "client credentials"}

    @classmethod
    def from_env(cls, **client_options: Any) -> ShopifySource:
        config = ShopifyConfig.from_env()
        variable = "SHOPIFY_ACCESS_TOKEN" if config.token else "SHOPIFY_CLIENT_ID and SHOPIFY_CLIENT_SECRET"
        return cls(config, SourceClient("shopify", variable, gql.classify, gql.wait_hint, **client_options))

    def graphql(self, query: str, variables: dict[str, Any] | None = None) -> dict[str, Any]:
        response, body = self.client.post(f"{self.config.base_url}/admin/api/{self.config.version}/graphql.json",
                                          headers={"X-Shopify-Access-Token": self.token()},
                                          json={"query": query, "variables": variables or {}})
        pause = gql.pause_before_next(response)
        if pause:
            self.client.sleep(pause)  # let the bucket refill rather than be throttled on the next page
        return body.get("data") or {}

    def _check_scope(self, since: datetime, now: datetime) -> None:
        """Orders older than 60 days are invisible without read_all_orders: say so instead of returning less."""
        if since >= now - timedelta(days=RECENT_DAYS):
            return
        scopes = self.token.scopes
        if scopes is None or not scopes:
            self.token()
            scopes = self.token.scopes or {s["handle"] for s in self.graphql(gql.SCOPES).get(
                "currentAppInstallation", {}).get("accessScopes", [])}
        if "read_all_orders" not in scopes:
            raise SourceError(f"shopify: orders before {(now - timedelta(days=RECENT_DAYS)).date()} need the "
                              "read_all_orders scope, which this app's token lacks; grant it, or start the window "
                              "within the last 60 days")

    def pages(self, window: Window, cursor: dict[str, Any] | None) -> Iterator[Page]:
        zone = ZoneInfo(TORONTO)
        since = datetime.combine(window.since, day_start.min, zone)
        if cursor and cursor.get("updated_at_max"):
            since = datetime.fromisoformat(cursor["updated_at_max"]) - OVERLAP
        until = datetime.combine(window.until + timedelta(days=1), day_start.min, zone)
        self._check_scope(since, datetime.now(UTC))
        search = f"updated_at:>='{since.isoformat()}' AND updated_at:<'{until.isoformat()}'"
        if (until - since).days > self.config.bulk_after_days:
            yield from self._bulk(search, since)
            return
        after, newest = None, since
        while True:
            data = self.graphql(gql.ORDERS_PAGE, {"first": PAGE_SIZE, "after": after, "query": search})
            orders = data.get("orders") or {}
            nodes = list(orders.get("nodes") or [])
            rows = [gql.row(node, self.config.project, self.config.shop_domain) for node in nodes]
            warnings = [f"shopify: order {node.get('name')} has more than {gql.LINE_ITEMS} line items; the first "
                        f"{gql.LINE_ITEMS} are stored (a backfill reads them all)" for node in nodes
                        if ((node.get("lineItems") or {}).get("pageInfo") or {}).get("hasNextPage")]
            newest = max([newest, *(datetime.fromisoformat(r["source_updated_at"]) for r in rows)])
            info = orders.get("pageInfo") or {}
            after = info.get("endCursor") if info.get("hasNextPage") else None
            yield Page(rows, {"updated_at_max": newest.isoformat(), "after": after}, warnings)
            if not after:
                return

    def _bulk(self, search: str, since: datetime) -> Iterator[Page]:
        """A bulk operation over the range: run it, poll it, read its JSONL, yield its orders in pages."""
        started = self.graphql(gql.RUN_BULK, {"query": gql.bulk_query(search)}).get("bulkOperationRunQuery") or {}
        problems = started.get("userErrors") or []
        operation = started.get("bulkOperation") or {}
        if problems or not operation.get("id"):
            raise SourceError("shopify: the bulk operation was refused: " + "; ".join(
                str(p.get("message")) for p in problems) if problems else "shopify: no bulk operation was started")
        asked = 0

        def finished() -> bool:  # the operation as it started, then as each poll finds it
            nonlocal operation, asked
            if asked:
                operation = self.graphql(gql.POLL_BULK, {"id": operation["id"]}).get("node") or {}
            asked += 1
            if operation.get("status") in ("FAILED", "CANCELED", "EXPIRED"):
                raise SourceError(f"shopify: the bulk operation ended {operation.get('status')} "
                                  f"({operation.get('errorCode') or 'no error code'}); run the backfill again")
            return operation.get("status") == "COMPLETED"
        poll("shopify: the bulk operation", finished, self.client.sleep, budget=BULK_WAIT_S)
        url = operation.get("url")  # none when the range holds no order
        lines = self.client.request("GET", url, decode=False)[1].splitlines() if url else []
        orders = gql.bulk_orders(lines)
        newest = since
        for start in range(0, max(len(orders), 1), 250):
            rows = [gql.row(node, self.config.project, self.config.shop_domain) for node in orders[start:start + 250]]
            newest = max([newest, *(datetime.fromisoformat(r["source_updated_at"]) for r in rows)])
            yield Page(rows, {"updated_at_max": newest.isoformat(), "after": None},
                       progress=min(1.0, (start + 250) / max(len(orders), 1)))
