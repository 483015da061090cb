"""The GraphQL Admin API's side of the Shopify source: the orders queries (paged, and as a bulk operation),
its errors and cost-based throttle, and an order node as a row of ``orders``.

Follows shopify.dev: the GraphQL Admin API's `orders` query and `Order` object (2026-10), "API
rate limits" (the cost throttle in `extensions.cost.throttleStatus`), "Perform bulk operations with the
GraphQL Admin API" (`bulkOperationRunQuery`, JSONL with `__parentId`), and shopify-api-ruby's GraphQL client.

Money: ``total_price`` is ``totalPriceSet`` (the order as placed) and ``total_refunded`` the sum of its
successful refund transactions, stored apart so revenue nets refunds once; ``currentTotalPriceSet`` already
subtracts refunds and edits, and netting refunds from it again would count them twice."""

from __future__ import annotations

import json
from decimal import Decimal
from typing import Any

import httpx

from healstack.etl.http import Failure, http_status_failure

LINE_ITEMS = 50  # per order on a paged read; more is a warning (a bulk backfill reads them all)
ORDER_FIELDS = """id legacyResourceId name createdAt updatedAt cancelledAt displayFinancialStatus currencyCode
totalPriceSet { shopMoney { amount } } subtotalPriceSet { shopMoney { amount } }
totalTaxSet { shopMoney { amount } } totalDiscountsSet { shopMoney { amount } } customer { legacyResourceId }"""
MONEY = "amountSet { shopMoney { amount } }"

ORDERS_PAGE = f"""query Orders($first: Int!, $after: String, $query: String!) {{
  orders(first: $first, after: $after, query: $query, sortKey: UPDATED_AT) {{
    pageInfo {{ hasNextPage endCursor }}
    nodes {{ {ORDER_FIELDS}
      lineItems(first: {LINE_ITEMS}) {{ pageInfo {{ hasNextPage }}
        nodes {{ sku quantity originalUnitPriceSet {{ shopMoney {{ amount }} }} }} }}
      refunds {{ id transactions(first: 20) {{ nodes {{ kind status {MONEY} }} }} }}
    }}
  }}
}}"""

BULK_ORDERS = """{{ orders(query: {query}) {{ edges {{ node {{ {fields}
  lineItems {{ edges {{ node {{ sku quantity originalUnitPriceSet {{ shopMoney {{ amount }} }} }} }} }}
  refunds {{ id transactions {{ edges {{ node {{ kind status {money} }} }} }} }}
}} }} }} }}"""

RUN_BULK = """mutation Run($query: String!) {
  bulkOperationRunQuery(query: $query) { bulkOperation { id status } userErrors { field message } }
}"""
POLL_BULK = """query Poll($id: ID!) {
  node(id: $id) { ... on BulkOperation { id status errorCode objectCount url partialDataUrl } }
}"""
SCOPES = "query Scopes { currentAppInstallation { accessScopes { handle } } }"


def bulk_query(search: str) -> str:
    return BULK_ORDERS.format(query=json.dumps(search), fields=ORDER_FIELDS, money=MONEY)


def _errors(response: httpx.Response) -> list[dict[str, Any]]:
    try:
        body = response.json()
    except ValueError:
        return []
    errors = body.get("errors") if isinstance(body, dict) else None
    if isinstance(errors, str):
        return [{"message": errors}]
    return [e for e in errors or [] if isinstance(e, dict)]


def classify(response: httpx.Response) -> tuple[Failure, str]:
    """GraphQL errors come as HTTP 200 with ``errors``: THROTTLED is transient, access errors are auth."""
    if response.status_code != 200:
        return http_status_failure(response)
    errors = _errors(response)
    if not errors:
        return Failure.NONE, ""
    codes = {str((e.get("extensions") or {}).get("code", "")) for e in errors}
    if "THROTTLED" in codes:
        return Failure.TRANSIENT, "throttled (query cost)"
    if "ACCESS_DENIED" in codes:
        return Failure.AUTH, "access denied: the token lacks a scope the query needs"
    if codes & {"INTERNAL_SERVER_ERROR", "SERVICE_UNAVAILABLE"}:
        return Failure.TRANSIENT, ",".join(sorted(codes))
    return Failure.FATAL, "; ".join(str(e.get("message", "")) for e in errors)[:300]


def _throttle(response: httpx.Response) -> tuple[float, float, float] | None:
    """(requested cost, currently available points, restore rate per second) from ``extensions.cost``."""
    try:
        cost = (response.json().get("extensions") or {}).get("cost") or {}
    except (ValueError, AttributeError):
        return None
    status = cost.get("throttleStatus") or {}
    try:
        return (float(cost.get("requestedQueryCost") or 0), float(status["currentlyAvailable"]),
                float(status["restoreRate"]) or 1.0)
    except (KeyError, TypeError, ValueError):
        return None


def wait_hint(response: httpx.Response) -> float | None:
    """A throttled query waits until the bucket holds its cost again; else Retry-After (HTTP 429)."""
    throttle = _throttle(response)
    if throttle and throttle[0] > throttle[1]:
        return (throttle[0] - throttle[1]) / throttle[2]
    try:
        return max(float(response.headers.get("Retry-After", "")), 0.0)
    except ValueError:
        return None


def pause_before_next(response: httpx.Response) -> float:
    """Seconds to let the bucket refill so the next query of the same cost is not throttled."""
    throttle = _throttle(response)
    if throttle is None or throttle[1] >= throttle[0]:
        return 0.0
    return (throttle[0] - throttle[1]) / throttle[2]


def _amount(money: dict[str, Any] | None) -> str | None:
    shop = (money or {}).get("shopMoney") or {}
    return None if shop.get("amount") is None else str(shop["amount"])


def _nodes(connection: Any) -> list[dict[str, Any]]:
    """A connection's nodes, whether read as ``nodes`` (paged) or ``edges`` (bulk), or a plain list."""
    if isinstance(connection, list):
        return connection
    if not isinstance(connection, dict):
        return []
    if "nodes" in connection:
        return list(connection["nodes"] or [])
    return [edge["node"] for edge in connection.get("edges") or []]


def refunded(order: dict[str, Any]) -> str:
    """Successful refund transactions only: a failed or pending refund returned nothing."""
    total = sum((Decimal(_amount(t.get("amountSet")) or "0") for refund in order.get("refunds") or []
                 for t in _nodes(refund.get("transactions"))
                 if t.get("kind") == "REFUND" and t.get("status") == "SUCCESS"), Decimal(0))
    return str(total)


def row(order: dict[str, Any], project: str, shop_domain: str) -> dict[str, Any]:
    customer = order.get("customer") or {}
    status = order.get("displayFinancialStatus")
    return {"project": project, "shop_domain": shop_domain, "order_id": int(order["legacyResourceId"]),
            "order_name": order.get("name"), "placed_at": order["createdAt"], "source_updated_at": order["updatedAt"],
            "cancelled_at": order.get("cancelledAt"), "financial_status": status.lower() if status else None,
            "currency": order.get("currencyCode") or "USD", "total_price": _amount(order.get("totalPriceSet")) or "0",
            "subtotal_price": _amount(order.get("subtotalPriceSet")), "total_tax": _amount(order.get("totalTaxSet")),
            "total_discounts": _amount(order.get("totalDiscountsSet")), "total_refunded": refunded(order),
            "customer_id": int(customer["legacyResourceId"]) if customer.get("legacyResourceId") else None,
            "line_items": [{"sku": li.get("sku"), "quantity": li.get("quantity"),
                            "price": _amount(li.get("originalUnitPriceSet"))} for li in _nodes(order.get("lineItems"))]}


def bulk_orders(lines: list[str]) -> list[dict[str, Any]]:
    """A bulk operation's JSONL as order nodes again: line items and refund transactions come as lines of
    their own, after their parent, naming it in ``__parentId`` (a transaction's parent is its refund)."""
    orders: dict[str, dict[str, Any]] = {}
    refunds: dict[str, dict[str, Any]] = {}
    for number, line in enumerate(lines, 1):
        if not line.strip():
            continue
        try:
            item = json.loads(line)
        except ValueError as e:
            raise ValueError(f"line {number} of the bulk result is not JSON ({e})") from None
        parent = item.pop("__parentId", None)
        if parent is None:
            item["lineItems"], orders[item["id"]] = [], item
            for refund in item.get("refunds") or []:
                refund["transactions"] = []
                refunds[refund["id"]] = refund
        elif parent in orders:
            orders[parent]["lineItems"].append(item)
        elif parent in refunds:
            refunds[parent]["transactions"].append(item)
    return list(orders.values())
