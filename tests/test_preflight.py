"""Preflight, the first phase of every run: each check passes on the healthy stack and fails (or warns) on the
condition it is there for; a blocking failure stops the later phases and writes preflight.md."""

from __future__ import annotations

import pytest

from healstack.context import Context
from healstack.preflight import preflight
from healstack.results import Outcome


def _by_id(records: list[dict]) -> dict[str, dict]:
    return {r["check_id"]: r for r in records if r["phase"] == "preflight"}


def test_the_healthy_stack_passes_preflight_and_a_report_of_it_is_written(guardrails):
    result, records = guardrails.run("-m", "preflight")
    assert result.ret == 0, result.stdout.str()
    found = _by_id(records)
    assert {k: found[k]["outcome"] for k in ("HS601", "HS602", "HS603", "HS604", "HS605", "HS606", "HS607")} == \
        dict.fromkeys(("HS601", "HS602", "HS603", "HS604", "HS605", "HS606", "HS607"), "passed")
    assert found["HS606"]["object"] == "direct" and found["HS606"]["evidence"]["server_version"]
    text = (guardrails.last_run / "preflight.md").read_text()
    assert "| HS602 | database | passed | reachable |" in text


def test_an_extension_the_server_lacks_is_named(guardrails, migrations_copy):
    (migrations_copy / "0099_more.sql").write_text("create extension if not exists no_such_extension;\n")
    _, records = guardrails.run("-m", "preflight")
    found = _by_id(records)["HS604"]
    assert found["outcome"] == "failed" and found["message"] == "not available on the server: no_such_extension"


def test_an_unknown_time_zone_fails(guardrails, monkeypatch):
    monkeypatch.setenv("HEALSTACK_TIMEZONE", "Mars/Olympus_Mons")
    _, records = guardrails.run("-m", "preflight")
    assert _by_id(records)["HS607"]["outcome"] == "failed"


def test_source_credentials_are_checked_by_name_never_by_value(guardrails, monkeypatch):
    monkeypatch.setenv("EVENTS_BASE_URL", "https://events.example")
    monkeypatch.setenv("EVENTS_TOKEN", "tok-preflight-secret-42")
    for name in ("META_ACCOUNT_ID", "META_ACCESS_TOKEN", "SHOPIFY_ACCESS_TOKEN"):
        monkeypatch.delenv(name, raising=False)
    result, records = guardrails.run("-m", "preflight")
    credentials = {r["object"]: r for r in records if r["check_id"] == "HS608"}
    assert credentials["events"]["outcome"] == "passed"
    assert credentials["source-a"]["outcome"] == "warned"
    assert credentials["source-a"]["message"] == "not configured: set META_ACCOUNT_ID, META_ACCESS_TOKEN"
    everything = result.stdout.str() + (guardrails.last_run / "results.jsonl").read_text()
    assert "tok-preflight-secret-42" not in everything


def test_unusable_settings_stop_the_run_at_preflight_with_exit_2(guardrails, tmp_path):
    rules = tmp_path / "dq"
    rules.mkdir()
    (rules / "events.toml").write_text('table = "public.events"\nrules = "oops"\n')
    result, records = guardrails.run("-m", "preflight or parity", f"--healstack-dq-rules={rules}", "-rs")
    assert result.ret == 2
    assert _by_id(records)["HS601"]["message"].endswith("events.toml: rules are [[rules]] tables, not 'oops'")
    result.stdout.fnmatch_lines(["*not evaluated: preflight failed: *rules are*"])


def test_an_unreachable_target_is_found_by_preflight(test_settings):
    results = {r.check_id: r for r in preflight(Context("postgresql://u:pw-secret-77@127.0.0.1:1/x",
                                                              test_settings), embedded=False)}
    assert results["HS602"].outcome is Outcome.FAILED and "pw-secret-77" not in results["HS602"].message
    assert "HS603" not in results  # nothing is judged on a server that was not reached


@pytest.mark.parametrize("mode", ["transaction"])
def test_a_transaction_pooler_is_a_warning_saying_what_it_means(test_settings, migrated_db, mode):
    settings = test_settings.with_(pooler="transaction pooler")
    found = {r.check_id: r for r in preflight(Context(migrated_db, settings), embedded=False)}
    assert found["HS606"].outcome is Outcome.WARNED and "apply and the ETL refuse" in found["HS606"].message
