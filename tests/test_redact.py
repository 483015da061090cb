"""Secrets never reach logs, reports or tickets."""

from __future__ import annotations

from healstack.redact import redact, redact_dsn


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
