"""What the Meta Marketing API says beyond its data: which versions are live, which errors are transient, too
large or final, how long a throttled account must wait, and how close an account is to being throttled.

Follows Meta's Marketing API changelog and versioning pages, its rate-limiting page (the
X-Business-Use-Case-Usage and X-Ad-Account-Usage headers) and facebook-python-business-sdk
(facebook_business/adobjects/adreportrun.py for async jobs, api.py for appsecret_proof)."""

from __future__ import annotations

import hashlib
import hmac
import json
import re
from datetime import date
from typing import Any

import httpx

from healstack.errors import ConfigError
from healstack.etl.http import Failure, http_status_failure

DEFAULT_VERSION = "27.0"
# Meta's live Marketing API versions in December 2026 are v25.0, v26.0 and v27.0: anything older is retired
# (v21.0 on 9 Sep 2025), and a run on it stops before its first request; a version retired later is
# Meta's error 2635, read as one line below
OLDEST_LIVE = (25, 0)
EXPIRES = {"25.0": date(2027, 2, 23)}
THROTTLE_CODES = {4, 17, 32, 613, *range(80000, 80015)}
AUTH_CODES = {190}
VERSION_GONE = 2635                  # "(#2635) You are calling a deprecated version of the Ads API"
TRANSIENT_SUBCODES = {1504043}       # code 2: "intermittent error", Meta says retry
TOO_LARGE_SUBCODES = {1504018, 1504038}  # "please reduce the amount of data" / "use a smaller date range or async"
PACE_AT = 75.0  # percent of any usage figure; Meta blocks the account at 100 for the time it names


def version(raw: str, today: date) -> str:
    """``v27.0`` or ``27.0`` as ``27.0``; an expired version is a clear error before any request."""
    match = re.fullmatch(r"v?(\d+\.\d+)", raw.strip())
    if not match:
        raise ConfigError(f"META_API_VERSION={raw!r} is not a Graph API version such as v{DEFAULT_VERSION}")
    found = match.group(1)
    major, minor = (int(part) for part in found.split("."))
    ends = EXPIRES.get(found)
    if (major, minor) < OLDEST_LIVE or (ends is not None and ends <= today):
        raise ConfigError(f"META_API_VERSION v{found}: Meta has retired this Marketing API version; use a live "
                          f"version (v{DEFAULT_VERSION} is the default)")
    return found


def expiry_warning(found: str, today: date) -> str | None:
    ends = EXPIRES.get(found)
    if ends is not None and (ends - today).days <= 60:
        return f"source-a: Graph API v{found} is retired on {ends}; move META_API_VERSION to v{DEFAULT_VERSION}"
    return None


def _error(response: httpx.Response) -> dict[str, Any] | None:
    try:
        body = response.json()
    except ValueError:
        return None
    error = body.get("error") if isinstance(body, dict) else None
    return error if isinstance(error, dict) else None


def classify(response: httpx.Response) -> tuple[Failure, str]:
    """Meta's errors arrive as HTTP 400 (and 403/500) with a code, a subcode and is_transient."""
    error = _error(response) if response.status_code >= 400 else None
    if error is None:
        return http_status_failure(response)
    code, subcode = error.get("code"), error.get("error_subcode")
    where = f"error code {code}" + (f"/{subcode}" if subcode else "")
    if code in AUTH_CODES:
        return Failure.AUTH, f"error code {code}"
    if code == VERSION_GONE:
        return Failure.FATAL, (f"{where}: this Graph API version is retired for the Marketing API; set "
                               f"META_API_VERSION to a live version (v{DEFAULT_VERSION} is the default)")
    if subcode in TOO_LARGE_SUBCODES:
        return Failure.TOO_LARGE, where
    if code in THROTTLE_CODES:
        return Failure.TRANSIENT, f"throttled ({where})"
    if subcode in TRANSIENT_SUBCODES or error.get("is_transient") or response.status_code >= 500:
        return Failure.TRANSIENT, f"transient ({where})"
    return Failure.FATAL, f"{where}: {error.get('message', '')}"


def _usage(response: httpx.Response) -> list[dict[str, Any]]:
    """Every usage entry of the business use case header (one list per business id)."""
    try:
        parsed = json.loads(response.headers.get("X-Business-Use-Case-Usage", "") or "{}")
    except ValueError:
        return []
    if not isinstance(parsed, dict):
        return []
    return [entry for entries in parsed.values() if isinstance(entries, list)
            for entry in entries if isinstance(entry, dict)]


def _account_usage(response: httpx.Response) -> dict[str, Any]:
    try:
        parsed = json.loads(response.headers.get("X-Ad-Account-Usage", "") or "{}")
    except ValueError:
        return {}
    return parsed if isinstance(parsed, dict) else {}


def wait_hint(response: httpx.Response) -> float | None:
    """Seconds until a throttled account may call again: the use case's estimated_time_to_regain_access
    (minutes), else the ad account's reset_time_duration (seconds), else Retry-After."""
    minutes = [float(e.get("estimated_time_to_regain_access") or 0) for e in _usage(response)]
    if minutes and max(minutes) > 0:
        return max(minutes) * 60
    reset = _account_usage(response).get("reset_time_duration")
    if isinstance(reset, int | float) and reset > 0:
        return float(reset)
    try:
        return max(float(response.headers.get("Retry-After", "")), 0.0)
    except ValueError:
        return None


def usage_percent(response: httpx.Response) -> float:
    """The highest usage figure the headers report, in percent of the account's allowance."""
    figures = [float(e.get(k) or 0) for e in _usage(response) for k in ("call_count", "total_cputime", "total_time")]
    account = _account_usage(response).get("acc_id_util_pct")
    if isinstance(account, int | float):
        figures.append(float(account))
    return max(figures, default=0.0)


def pause_for(percent: float) -> float:
    """How long to pause before the next call: nothing below PACE_AT, then more the closer to the block."""
    if percent < PACE_AT:
        return 0.0
    return float(min(60.0, 2.0 ** ((percent - PACE_AT) / 5)))  # 1 s at 75 %, 32 s at 100 %


def appsecret_proof(token: str, secret: str) -> str:
    """HMAC-SHA256 of the access token keyed by the app secret, as apps with "Require App Secret" need."""
    return hmac.new(secret.encode(), token.encode(), hashlib.sha256).hexdigest()
