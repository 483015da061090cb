"""Secrets never reach logs, reports or tickets."""

from __future__ import annotations

from urllib.parse import quote

import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st
from repo import REPO

from healstack.cli import main
from healstack.db import connect
from healstack.errors import ConfigError
from healstack.redact import redact, redact_dsn

pytestmark = pytest.mark.any_postgres  # no server involved: run once (see pyproject.toml)


def test_url_password_is_masked_and_host_kept():
    assert redact_dsn("postgresql://app:s3cr3t@db.example.com:6543/postgres?sslmode=require") == (
        "postgresql://app:***@db.example.com:6543/postgres?sslmode=require")


def test_keyword_password_is_masked():
    assert redact_dsn("host=db user=app password=s3cr3t dbname=x") == "host=db user=app password=*** dbname=x"
    assert redact_dsn("host=db password='with space' dbname=x") == "host=db password=*** dbname=x"


def test_secret_env_values_are_masked_wherever_they_appear():
    env = {"META_TOKEN": "EAAB-very-secret-token", "SLACK_WEBHOOK_URL": "https://hooks.slack.com/services/T0/B0/xyz",
           "HOME": "/root"}
    text = "GET ?access_token=EAAB-very-secret-token failed; posted to https://hooks.slack.com/services/T0/B0/xyz"
    masked = redact(text, env)
    assert "EAAB-very-secret-token" not in masked and "hooks.slack.com/services" not in masked



def test_database_url_without_password_stays_readable():
    env = {"DATABASE_URL": "postgresql://postgres@127.0.0.1:5432/postgres"}
    assert redact("target postgresql://postgres@127.0.0.1:5432/postgres", env) == (
        "target postgresql://postgres@127.0.0.1:5432/postgres")


# The six forms an adversarial pass saw reach the console, each with the password (or a piece of it) it leaked.
LEAKED = [
    ("postgresql://app:Pa/ss-x9secret@127.0.0.1:1/db", "ss-x9secret"),
    ("postgresql://app:Secr3t@Passw0rd@127.0.0.1:1/db", "Passw0rd"),
    ("mysql://app:mysql-secret-99@127.0.0.1:1/db", "mysql-secret-99"),
    ("postgresql://app:p%zzsecret99@127.0.0.1:1/db", "zzsecret99"),
    ("host=127.0.0.1 port=1 password=abc defsecret", "defsecret"),
    ("host=127.0.0.1 port=1 password='p\\'xsecret'", "xsecret"),
]


@pytest.mark.parametrize(("dsn", "secret"), LEAKED, ids=[str(i) for i in range(len(LEAKED))])
def test_the_forms_that_leaked_are_masked_in_one_line_errors(dsn, secret, capsys, monkeypatch):
    monkeypatch.setenv("DATABASE_URL", dsn)
    assert main(["--migrations", str(REPO / "migrations"), "apply"]) == 2
    out, err = capsys.readouterr()
    assert secret not in out + err and len(err.strip().splitlines()) == 1


PRINTABLE = st.text(alphabet=st.characters(min_codepoint=32, max_codepoint=126), min_size=8, max_size=24)


def _forms(password: str) -> list[str]:
    """The ways a user writes a password into a DSN: percent-encoded or raw in a URL, quoted in key=value."""
    escaped = password.replace("\\", "\\\\").replace("'", "\\'")
    return [f"postgresql://app:{quote(password, safe='')}@127.0.0.1:1/db",
            f"postgresql://app:{password}@127.0.0.1:1/db",
            f"host=127.0.0.1 port=1 user=app password='{escaped}' dbname=db"]


@given(password=PRINTABLE)
def test_no_generated_password_survives_redaction_in_any_form(password):
    assume(len(set(password)) > 3 and password.strip() == password)
    for dsn in _forms(password):
        for text in (redact_dsn(dsn), redact(f"connecting to {dsn} failed", {"DATABASE_URL": dsn}),
                     redact(f"target {dsn}", {}, dsn=dsn)):
            assert password not in text and quote(password, safe="") not in text, (dsn, text)


@settings(max_examples=15)
@given(password=PRINTABLE)
def test_no_generated_password_reaches_a_failed_connection_error(password):
    assume(len(set(password)) > 3 and password.strip() == password)
    for dsn in (_forms(password)[0], _forms(password)[2]):  # the parseable forms: raw ones may name a host
        with pytest.raises(ConfigError) as error:
            connect(dsn)
        assert password not in str(error.value) and quote(password, safe="") not in str(error.value)
