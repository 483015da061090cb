"""checks/test_data_quality.py: each rule is its own case; seeded bad data fails the rule that guards it."""

from __future__ import annotations

from healstack.config import PROJECT_ROOT
from healstack.db import connect
from healstack.dq.rules import load_rules

CHECKS = str(PROJECT_ROOT / "checks" / "test_data_quality.py")
RULES = load_rules(PROJECT_ROOT / "checks" / "dq")


def test_every_shipped_rule_is_a_case_and_clean_data_passes(pytester, against):
    with connect(against, autocommit=True) as conn:
        conn.execute("insert into public.events (project, event_id, name, user_id, occurred_at)"
                     " values ('p', 'e1', 'page_view', 'u1', now() - interval '1 hour')")
    result = pytester.runpytest(CHECKS, "-q", "-rs")
    outcomes = result.parseoutcomes()
    assert outcomes.get("passed", 0) + outcomes.get("skipped", 0) == len(RULES)
    assert outcomes.get("failed", 0) == 0


def test_bad_rows_fail_their_rule_with_where_it_was_declared(pytester, against):
    with connect(against, autocommit=True) as conn:
        conn.execute("insert into public.events (project, event_id, name, user_id, occurred_at) values"
                     " ('p', 'e1', 'page_view', 'u1', now() + interval '3 days'),"
                     " ('p', 'e2', 'Bad Name', 'u1', now() - interval '1 hour')")
        conn.execute("insert into public.spend (project, platform, account_id, campaign_id, dt, spend)"
                     " values ('p', 'meta', 'a', 'c', current_date, 2000000)")
    result = pytester.runpytest(CHECKS, "-q", "-k", "not_in_future or name_format or amount_plausible")
    # name_format is declared severity warn: it warns and does not fail the run
    assert result.parseoutcomes()["failed"] == 2
    result.stdout.fnmatch_lines_random([
        "*events.not_in_future*1 violations of 2 rows*declared at events.toml:*",
        "*spend.amount_plausible*1 violations of 1 rows*declared at spend.toml:*",
    ])
