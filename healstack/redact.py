"""Keep secrets (DSN passwords in every form, tokens, webhook URLs) out of output, logs, reports and tickets.

A DSN's password is found by parsing, never by one regex: libpq's own conninfo parser gives the password it
would send, and the raw string gives what libpq would misread (a raw '@', ':' or '/' in a URL password, an
invalid percent-escape, an unquoted value with a space). Every form found is masked wherever it appears.
"""

from __future__ import annotations

import contextlib
import os
import re
from urllib.parse import quote, unquote

import psycopg
from psycopg.conninfo import conninfo_to_dict

MASK = "***"
# Env vars whose values are secrets wherever they show up.
_SECRET_ENV = re.compile(r"(TOKEN|SECRET|PASSWORD|KEY|WEBHOOK|DATABASE_URL|DB_URL)", re.IGNORECASE)
_DSN_ENV = re.compile(r"(DATABASE_URL|DB_URL|DSN)$", re.IGNORECASE)
_SCHEME = re.compile(r"^\s*[A-Za-z][A-Za-z0-9+.-]*://")
_KV_PASSWORD = re.compile(r"\bpassword\s*=\s*", re.IGNORECASE)
# In free text (a log line, an error): scheme://user:password@ with the password up to the last '@' of the
# run of non-space characters, and password=value pairs.
_URL_IN_TEXT = re.compile(r"(?P<head>\b[A-Za-z][A-Za-z0-9+.-]*://[^\s:/@]*:)(?P<pw>\S*)@")
_KV_IN_TEXT = re.compile(r"(?P<key>\bpassword\s*=\s*)(?P<pw>'(?:[^'\\]|\\.)*'?|\S+)", re.IGNORECASE)
# Secrets this process was given other than through the environment (a --healstack-database-url option,
# [tool.healstack] database_url): remembered so that every later redaction masks them too.
_REMEMBERED: set[str] = set()


def _quoted_value(text: str) -> str:
    """A single-quoted conninfo value, unescaped; an unterminated one runs to the end."""
    out, i = [], 1
    while i < len(text) and text[i] != "'":
        if text[i] == "\\" and i + 1 < len(text):
            i += 1
        out.append(text[i])
        i += 1
    return "".join(out)


def dsn_secrets(dsn: str) -> set[str]:
    """Every form the password of ``dsn`` can take in text: as libpq parses it, raw, percent-encoded."""
    found: set[str] = set()
    with contextlib.suppress(psycopg.Error):  # what libpq cannot parse is read raw below
        found.add(str(conninfo_to_dict(dsn).get("password") or ""))
    if _SCHEME.match(dsn):
        authority = dsn.split("://", 1)[1]
        if "@" in authority:
            userinfo = authority.rsplit("@", 1)[0]  # the last '@': a raw one may sit in the password
            if ":" in userinfo:
                raw = userinfo.split(":", 1)[1]
                # libpq misreads a raw '@', '/' or ':' in it, and its error then quotes a piece as a host,
                # port or database: every piece, and what comes before and after each delimiter, is masked too
                cuts = list(re.finditer(r"[@/:?#]", raw))
                found |= {raw, *re.split(r"[@/:?#]", raw), *(raw[m.end():] for m in cuts),
                          *(raw[:m.start()] for m in cuts)}
        for value in re.findall(r"[?&]password=([^&#]*)", dsn):
            found.add(value)
    for match in _KV_PASSWORD.finditer(dsn):
        rest = dsn[match.end():]
        if rest.startswith("'"):
            found |= {_quoted_value(rest), rest[:len(_quoted_value(rest)) + 2]}
        else:
            found.add(rest.split()[0] if rest.split() else "")
            try:
                conninfo_to_dict(dsn)
            except psycopg.Error:  # unparsable: what the user meant as the password may run to the end, and
                found |= {rest.rstrip(), *rest.split()}  # libpq's error quotes the word it stumbled on
    variants = set()
    for secret in found:
        variants |= {secret, unquote(secret), quote(secret, safe="")}
    return {v for v in variants if v}


# A password this short is masked where a DSN or password=... shows it, not wherever its characters occur.
MIN_MASKED_ANYWHERE = 4


def _mask(text: str, secrets: set[str]) -> str:
    for secret in sorted(secrets, key=len, reverse=True):
        if len(secret) >= MIN_MASKED_ANYWHERE:
            text = text.replace(secret, MASK)
    return text


def redact_dsn(dsn: str) -> str:
    """The DSN with its password masked in every form; host, port, user and database stay readable."""
    masked = dsn
    if _SCHEME.match(dsn):
        scheme, authority = dsn.split("://", 1)
        if "@" in authority:
            userinfo, rest = authority.rsplit("@", 1)
            if ":" in userinfo:
                userinfo = userinfo.split(":", 1)[0] + ":" + MASK
            authority = f"{userinfo}@{rest}"
        masked = f"{scheme}://" + re.sub(r"([?&]password=)[^&#]*", rf"\g<1>{MASK}", authority)
    else:
        try:
            conninfo_to_dict(dsn)
            masked = _KV_IN_TEXT.sub(lambda m: f"{m['key']}{MASK}", dsn)
        except psycopg.Error:  # unparsable: from password= to the end may all be the password
            masked = re.sub(r"(?is)(\bpassword\s*=\s*).*", rf"\g<1>{MASK}", dsn)
    return _mask(masked, dsn_secrets(dsn))


def remember_dsn(dsn: str) -> None:
    """Mask this DSN's password in everything redacted from now on in this process."""
    _REMEMBERED.update(dsn_secrets(dsn))


def secret_values(environ: dict[str, str] | None = None) -> set[str]:
    """Every secret the environment and this process hold: secret-looking variables' values (whole), and
    the passwords of the DSNs among them, in every form."""
    env = os.environ if environ is None else environ
    secrets = set(_REMEMBERED)
    for key, value in env.items():
        if not _SECRET_ENV.search(key) or len(value) < 6:
            continue
        if _DSN_ENV.search(key):
            secrets |= dsn_secrets(value)  # a database URL keeps its host readable
        else:
            secrets.add(value)  # a token or a webhook URL goes whole
    return secrets


def redact(text: str, environ: dict[str, str] | None = None, *, dsn: str | None = None) -> str:
    """Mask every known secret in ``text`` (and ``dsn``'s password), then any URL or password=... left."""
    text = _mask(text, secret_values(environ) | (dsn_secrets(dsn) if dsn else set()))
    text = _URL_IN_TEXT.sub(lambda m: f"{m['head']}{MASK}@", text)
    return _KV_IN_TEXT.sub(lambda m: f"{m['key']}{MASK}", text)
