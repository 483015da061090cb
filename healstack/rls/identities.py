"""The identities a contract names, as the JWT claims PostgREST would set for each."""

from __future__ import annotations

from typing import Any

from healstack.rls.contract import OWNER_CLAIM, TableContract
from healstack.rls.simulator import Identity, anon, anonymous_user, service_role


def _put(claims: dict[str, Any], path: str, value: str) -> None:
    """Set ``value`` at a dotted path of the claims, keeping what is already there."""
    *parents, last = path.split(".")
    for key in parents:
        inner = claims.setdefault(key, {})
        if not isinstance(inner, dict):
            return
        claims = inner
    claims.setdefault(last, value)


def identity_for(who: str, sub: str, tenants: list[tuple[TableContract, str, str]]) -> Identity:
    """The identity behind a contract name. A signed-in user (``sub``) carries each table's tenant claim set to
    its own tenant and the same key in user_metadata, which users edit themselves, forged to the other: a
    policy that trusts it lets them read another tenant."""
    if who != "tenant":
        return {"anonymous": anonymous_user, "anon": anon, "service_role": service_role}[who]()
    claims: dict[str, Any] = {"sub": sub, "aud": "authenticated", "is_anonymous": False,
                              "app_metadata": {"provider": "email"}, "user_metadata": {}}
    for tc, own, other in tenants:
        if tc.tenant and tc.claim and tc.claim != OWNER_CLAIM:
            _put(claims, tc.claim, own)
            if not tc.claim.startswith("user_metadata."):
                _put(claims["user_metadata"], tc.claim.rsplit(".", 1)[-1], other)
    return Identity("tenant", "authenticated", claims)
