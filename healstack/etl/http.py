"""One HTTP client for every source: timeouts, retries on transient failures only, exponential backoff
with full jitter, Retry-After honoured, bounded attempts and total time. Auth failures never retry."""

from __future__ import annotations

import os
import random
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from enum import Enum
from typing import Any

import httpx

from healstack.errors import ConfigError, HealstackError


class Failure(Enum):
    NONE = "none"
    TRANSIENT = "transient"
    AUTH = "auth"
    FATAL = "fatal"


class SourceError(HealstackError):
    """A source could not be read; the message names the source and what to fix."""

    exit_code = 1


@dataclass
class RetryPolicy:
    attempts: int = 6
    base_s: float = 0.5
    cap_s: float = 30.0    # our own backoff's longest wait; a server's Retry-After is honoured beyond it
    total_s: float = 300.0  # the budget of waiting per request (ETL_RETRY_BUDGET seconds)

    @classmethod
    def from_env(cls) -> RetryPolicy:
        raw = os.environ.get("ETL_RETRY_BUDGET", "").strip()
        if not raw:
            return cls()
        try:
            budget = float(raw)
        except ValueError:
            budget = -1
        if budget <= 0:
            raise ConfigError(f"ETL_RETRY_BUDGET={raw!r} is not a number of seconds greater than 0")
        return cls(total_s=budget)


@dataclass
class Attempt:
    """One request attempt, for the run ledger: what went wrong, if anything."""

    url: str
    status: int | None
    failure: str
    waited_s: float


Classifier = Callable[[httpx.Response], tuple[Failure, str]]


def http_status_failure(response: httpx.Response) -> tuple[Failure, str]:
    """The plain HTTP reading: 401/403 auth, 408/425/429/5xx transient, other 4xx fatal."""
    status = response.status_code
    if status in (401, 403):
        return Failure.AUTH, f"HTTP {status}"
    if status in (408, 425, 429) or status >= 500:
        return Failure.TRANSIENT, f"HTTP {status}"
    if status >= 400:
        return Failure.FATAL, f"HTTP {status}"
    return Failure.NONE, ""


@dataclass
class SourceClient:
    """GETs JSON for one source; ``token_env`` is named in auth errors, never the token itself."""

    source: str
    token_env: str
    classify: Classifier = http_status_failure
    policy: RetryPolicy = field(default_factory=RetryPolicy.from_env)
    transport: httpx.BaseTransport | None = None
    sleep: Callable[[float], None] = time.sleep
    rng: random.Random = field(default_factory=random.Random)
    attempts: list[Attempt] = field(default_factory=list)

    def __post_init__(self) -> None:
        self._client = httpx.Client(timeout=httpx.Timeout(30.0, connect=10.0), transport=self.transport,
                                    follow_redirects=False)

    def close(self) -> None:
        self._client.close()

    def _backoff(self, attempt: int, retry_after: str | None) -> tuple[float, bool]:
        """(seconds to wait, whether the server asked for them): Retry-After is honoured whole, within the budget."""
        if retry_after:
            try:
                return max(float(retry_after), 0.0), True
            except ValueError:
                pass
        return self.rng.uniform(0, min(self.policy.cap_s, self.policy.base_s * 2 ** attempt)), False

    def get(self, url: str, params: dict[str, Any] | None = None,
            headers: dict[str, str] | None = None) -> tuple[httpx.Response, Any]:
        """The response and its decoded JSON, after retrying transient failures."""
        waited = 0.0
        first = len(self.attempts)
        for attempt in range(self.policy.attempts):
            status: int | None = None
            retry_after: str | None = None
            try:
                response = self._client.get(url, params=params, headers=headers)
                status = response.status_code
                failure, detail = self.classify(response)
                retry_after = response.headers.get("Retry-After")
                if failure is Failure.NONE:
                    try:
                        return response, response.json()
                    except ValueError:
                        failure, detail = Failure.TRANSIENT, "truncated or invalid JSON"
            except (httpx.TimeoutException, httpx.TransportError) as e:
                failure, detail = Failure.TRANSIENT, type(e).__name__
            if failure is Failure.AUTH:
                self.attempts.append(Attempt(url, status, f"auth: {detail}", 0.0))
                raise SourceError(f"{self.source}: authentication failed ({detail}); check {self.token_env}")
            if failure is Failure.FATAL:
                self.attempts.append(Attempt(url, status, f"fatal: {detail}", 0.0))
                raise SourceError(f"{self.source}: request failed ({detail}); not retried")
            wait, asked = self._backoff(attempt, retry_after)
            self.attempts.append(Attempt(url, status, f"transient: {detail}", wait))
            if asked and waited + wait > self.policy.total_s:
                raise SourceError(f"{self.source}: the server asks to wait {wait:.0f} s (Retry-After), more than the "
                                  f"{self.policy.total_s - waited:.0f} s left of the retry budget; run again later "
                                  "or raise ETL_RETRY_BUDGET")
            if attempt + 1 == self.policy.attempts or waited + wait > self.policy.total_s:
                break
            self.sleep(wait)
            waited += wait
        raise SourceError(f"{self.source}: gave up after {len(self.attempts) - first} attempts "
                          f"(last: {self.attempts[-1].failure})")
