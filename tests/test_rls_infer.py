"""Whose rows a policy admits, read from its expression as Postgres prints it (pg_get_expr): cases as data."""

from __future__ import annotations

import pytest

from healstack.rls.infer import Ownership, infer

MEMBER = Ownership("member", "account_id", None, "teams.members", "account_id", "user_id")

CASES = [
    ("true", Ownership("all")),
    ("(1 = 1)", Ownership("all")),
    ("(user_id = auth.uid())", Ownership("owner", "user_id")),
    ("(( SELECT auth.uid() AS uid) = id)", Ownership("owner", "id")),
    ("(((auth.jwt() ->> 'sub'::text))::uuid = owner)", Ownership("owner", "owner", "sub")),
    ("(team_id = (((auth.jwt() -> 'app_metadata'::text) ->> 'team_id'::text))::uuid)",
     Ownership("claim", "team_id", "app_metadata.team_id")),
    ("(org = ((( SELECT auth.jwt() AS jwt) ->> 'org_id'::text))::uuid)", Ownership("claim", "org", "org_id")),
    ("(project = ((current_setting('request.jwt.claims'::text, true))::jsonb ->> 'project'::text))",
     Ownership("claim", "project", "project")),
    ("(account_id IN ( SELECT m.account_id FROM teams.members m WHERE (m.user_id = ( SELECT auth.uid() AS uid))))",
     MEMBER),
    ("(EXISTS ( SELECT 1 FROM teams.members m WHERE ((m.account_id = projects.account_id) AND "
     "(m.user_id = ( SELECT auth.uid() AS uid)))))", MEMBER),
    ("((deleted_at IS NULL) AND (user_id = auth.uid()))", Ownership("owner", "user_id")),
    # not read: a helper function, a comparison with a constant, a sub-select without the user
    ("private.is_member(account_id)", None),
    ("(status = 'published'::text)", None),
    ("(account_id IN ( SELECT m.account_id FROM teams.members m))", None),
    (None, None),
]


@pytest.mark.parametrize(("expression", "expected"), CASES, ids=[str(c[0])[:40] for c in CASES])
def test_ownership_read_from_a_policy(expression: str | None, expected: Ownership | None) -> None:
    assert infer(expression) == expected
