"""One HTTP client for every source: timeouts, retries on transient failures only, exponential backoff
with full jitter, bounded attempts and total time. A wait the server asks for (Retry-After, or an API's own
hint such as Meta's time to regain access) is honoured whole, up to its own cap. Auth failures never retry;
an HTML page where JSON was expected is not retried either (a login or maintenance page is not transient)."""

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
    TOO_LARGE = "too large"  # the API asks for a smaller request (a shorter date range); the source splits it


class SourceError(HealstackError):
    """A source could not be read; the message names the source and what to fix."""

    exit_code = 1


class RequestTooLarge(SourceError):
    """The API refused the request's size; the caller may split it and ask again."""


def poll(job: str, finished: Callable[[], bool], sleep: Callable[[float], None], *, budget: float,
         first: float = 2.0, longest: float = 30.0) -> None:
    """Ask ``finished`` until it says so (it raises for a job that failed), pausing between asks from ``first``
    seconds, doubling up to ``longest``; past ``budget`` seconds of pauses, one line says the job still runs."""
    waited, pause = 0.0, first
    while not finished():
        if waited >= budget:
            raise SourceError(f"{job} is still running after {waited:.0f} s; run again later")
        sleep(pause)
        waited, pause = waited + pause, min(pause * 2, longest)


@dataclass
class RetryPolicy:
    attempts: int = 6
    base_s: float = 0.5
    cap_s: float = 30.0    # our own backoff's longest wait; a server's Retry-After is honoured beyond it
    total_s: float = 300.0  # the budget of waiting per request (ETL_RETRY_BUDGET seconds)
    # waits a throttled API names itself (Meta's estimated_time_to_regain_access is in minutes, up to an
    # hour): honoured up to ETL_MAX_THROTTLE_WAIT seconds per request, then the run ends saying when to retry
    throttle_s: float = 3600.0

    @classmethod
    def from_env(cls) -> RetryPolicy:
        return cls(total_s=_seconds("ETL_RETRY_BUDGET", 300.0), throttle_s=_seconds("ETL_MAX_THROTTLE_WAIT", 3600.0))


def _seconds(name: str, default: float) -> float:
    raw = os.environ.get(name, "").strip()
    if not raw:
        return default
    try:
        value = float(raw)
    except ValueError:
        value = -1
    if value <= 0:
        raise ConfigError(f"{name}={raw!r} is not a number of seconds greater than 0")
    return value


@dataclass
class Attempt:
    """One request attempt, for the run ledger: what went wrong, if anything."""

    url: str
    status: int | None
    failure: str
    waited_s: float


Classifier = Callable[[httpx.Response], tuple[Failure, str]]
WaitHint = Callable[[httpx.Response], float | None]


def retry_after(response: httpx.Response) -> float | None:
    """The standard hint: Retry-After in seconds (an HTTP date is rare from APIs, and read as no hint)."""
    try:
        return max(float(response.headers.get("Retry-After", "")), 0.0)
    except ValueError:
        return None


def _is_html(response: httpx.Response) -> bool:
    kind = response.headers.get("Content-Type", "")
    return "html" in kind or response.content[:256].lstrip()[:1] == b"<"


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
    wait_hint: WaitHint = retry_after
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

    def request(self, method: str, url: str, params: dict[str, Any] | None = None,
                headers: dict[str, str] | None = None, *, decode: bool = True,
                **body: Any) -> tuple[httpx.Response, Any]:
        """The response and its decoded JSON (its text with ``decode=False``), after retrying transient failures."""
        waited = throttled = 0.0
        first, attempt = len(self.attempts), 0
        while True:
            status: int | None = None
            try:
                response = self._client.request(method, url, params=params, headers=headers, **body)
                status = response.status_code
                failure, detail = self.classify(response)
                if failure is Failure.NONE and not decode:
                    return response, response.text
                if failure is Failure.NONE:
                    if _is_html(response):
                        failure, detail = Failure.FATAL, "an HTML page came back where JSON was expected"
                    else:
                        try:
                            return response, response.json()
                        except ValueError:
                            failure, detail = Failure.TRANSIENT, "truncated or invalid JSON"
            except (httpx.TimeoutException, httpx.TransportError) as e:
                failure, detail = Failure.TRANSIENT, type(e).__name__
            if failure is not Failure.TRANSIENT:
                self.attempts.append(Attempt(url, status, f"{failure.value}: {detail}", 0.0))
                raise self._final(failure, detail)
            hint = self.wait_hint(response) if status is not None else None
            if hint:  # the server's own wait does not use up an attempt: its cap bounds it
                self.attempts.append(Attempt(url, status, f"transient: {detail}", hint))
                if throttled + hint > self.policy.throttle_s:
                    raise SourceError(
                        f"{self.source}: the server asks to wait {hint:.0f} s ({detail}), more than the "
                        f"{self.policy.throttle_s - throttled:.0f} s left of ETL_MAX_THROTTLE_WAIT; run again later "
                        "or raise ETL_MAX_THROTTLE_WAIT")
                self.sleep(hint)
                throttled += hint
                continue
            wait = self.rng.uniform(0, min(self.policy.cap_s, self.policy.base_s * 2 ** attempt))
            self.attempts.append(Attempt(url, status, f"transient: {detail}", wait))
            attempt += 1
            if attempt == self.policy.attempts or waited + wait > self.policy.total_s:
                break
            self.sleep(wait)
            waited += wait
        raise SourceError(f"{self.source}: gave up after {len(self.attempts) - first} attempts "
                          f"(last: {self.attempts[-1].failure})")

    def _final(self, failure: Failure, detail: str) -> SourceError:
        if failure is Failure.AUTH:
            return SourceError(f"{self.source}: authentication failed ({detail}); check {self.token_env}")
        if failure is Failure.TOO_LARGE:
            return RequestTooLarge(f"{self.source}: the request is too large ({detail})")
        return SourceError(f"{self.source}: request failed ({detail}); not retried")

    def get(self, url: str, params: dict[str, Any] | None = None,
            headers: dict[str, str] | None = None) -> tuple[httpx.Response, Any]:
        return self.request("GET", url, params, headers)

    def post(self, url: str, params: dict[str, Any] | None = None, headers: dict[str, str] | None = None,
             **body: Any) -> tuple[httpx.Response, Any]:
        return self.request("POST", url, params, headers, **body)
