"""Shared by the ETL source tests: the recorded payloads in fixtures/, and respx handlers shaped like each API."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import httpx
from repo import REPO

FIXTURES = REPO / "fixtures"
SECRET = "tok-SECRET-123456"
ENV = {"META_BASE_URL": "https://meta.test", "META_ACCOUNT_ID": "1234", "META_ACCESS_TOKEN": SECRET,
       "TIKTOK_BASE_URL": "https://tiktok.test", "TIKTOK_ADVERTISER_ID": "777", "TIKTOK_ACCESS_TOKEN": SECRET,
       "SHOPIFY_BASE_URL": "https://shop.test", "SHOPIFY_ACCESS_TOKEN": SECRET,
       "EVENTS_BASE_URL": "https://events.test", "EVENTS_TOKEN": SECRET, "ETL_PROJECT": "occ"}


def payload(name: str) -> Any:
    return json.loads((FIXTURES / name).read_text())


def graphql(pages: list[httpx.Response], scopes: tuple[str, ...] = ("read_orders", "read_all_orders"),
            seen: list[dict[str, Any]] | None = None) -> Callable[[httpx.Request], httpx.Response]:
    """A GraphQL Admin endpoint: the scopes query answered from ``scopes``, every other query from ``pages``
    in turn; each request's body is kept in ``seen``."""
    queue = list(pages)

    def handle(request: httpx.Request) -> httpx.Response:
        body = json.loads(request.content)
        if seen is not None:
            seen.append(body)
        if body["query"].startswith("query Scopes"):
            return httpx.Response(200, json={"data": {"currentAppInstallation": {
                "accessScopes": [{"handle": s} for s in scopes]}}})
        return queue.pop(0)
    return handle
