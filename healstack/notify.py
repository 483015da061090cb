"""Notifications: the console summary always; a Slack message (incoming webhook, SLACK_WEBHOOK_URL) when something
changed since the previous run (a new failure, a resolution, a heal), one per run. A notification that fails
never fails the run: it is recorded. The webhook URL, a secret, never appears in any output."""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import httpx

from healstack.redact import redact
from healstack.report.stream import RunData
from healstack.report.summary import verdict
from healstack.results import Outcome

WEBHOOK_VARIABLE = "SLACK_WEBHOOK_URL"


@dataclass
class Poster:
    """POSTs JSON with bounded retries on transient failures (429 with Retry-After, 5xx, timeouts)."""

    transport: httpx.BaseTransport | None = None
    sleep: Callable[[float], None] = time.sleep
    attempts: int = 3
    budget_s: float = 60.0
    waited: float = field(default=0.0, init=False)

    def post(self, url: str, payload: dict[str, Any], headers: Mapping[str, str] | None = None) -> httpx.Response:
        with httpx.Client(timeout=httpx.Timeout(10.0), transport=self.transport, follow_redirects=False) as client:
            for attempt in range(self.attempts):
                try:
                    response = client.post(url, json=payload, headers=dict(headers or {}))
                except (httpx.TimeoutException, httpx.TransportError) as e:
                    if attempt + 1 == self.attempts:
                        raise
                    wait, reason = 2.0 ** attempt, type(e).__name__
                else:
                    if response.status_code != 429 and response.status_code < 500:
                        return response
                    if attempt + 1 == self.attempts:
                        return response
                    wait = float(response.headers.get("Retry-After", 2.0 ** attempt))
                    reason = f"HTTP {response.status_code}"
                if self.waited + wait > self.budget_s:
                    raise httpx.TransportError(f"{reason}; asked to wait {wait:.0f} s, beyond the budget")
                self.sleep(wait)
                self.waited += wait
        raise AssertionError("unreachable")  # pragma: no cover


def changed(data: RunData) -> bool:
    """Whether this run changed anything a person should hear about: a ticket opened, reopened or resolved, or
    a heal."""
    tickets = data.outputs.get("tickets", {})
    return bool(tickets.get("opened") or tickets.get("reopened") or tickets.get("resolved")
                or data.outputs.get("healed"))


def message(data: RunData) -> dict[str, Any]:
    tickets = data.outputs.get("tickets", {})
    failing = data.with_outcome(Outcome.FAILED, Outcome.ERROR)
    lines = [f"*healstack run {data.run_id}: {verdict(data)}* on {data.identity.get('target')}",
             f"{len(failing)} failed, {len(data.with_outcome(Outcome.WARNED))} warned, "
             f"{len(data.with_outcome(Outcome.PASSED))} passed",
             "tickets: " + (", ".join(f"{len(v)} {k}" for k, v in tickets.items() if v) or "no change")]
    if data.outputs.get("healed"):
        lines.append(f"healed: {len(data.outputs['healed'])}")
    lines += [f"report: {data.outputs.get('report')}", f"backlog: {data.outputs.get('backlog')}"]
    return {"text": redact("\n".join(lines))}


def slack(data: RunData, environ: Mapping[str, str] | None = None, poster: Poster | None = None) -> str:
    """Send the run's message when something changed; what happened, for the run's record."""
    url = (os.environ if environ is None else environ).get(WEBHOOK_VARIABLE, "").strip()
    if not url:
        return f"slack: not configured ({WEBHOOK_VARIABLE} unset)"
    if not changed(data):
        return "slack: nothing changed since the previous run; not sent"
    try:
        response = (poster or Poster()).post(url, message(data))
    except httpx.HTTPError as e:
        return redact(f"slack: not sent: {e}", dict(environ or os.environ))
    if response.status_code == 200:
        return "slack: sent"
    body = response.text.strip()[:80]
    return redact(f"slack: not sent: HTTP {response.status_code} {body}".rstrip(), dict(environ or os.environ))
