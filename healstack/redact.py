"""Keep secrets (DSN passwords, tokens, webhook URLs) out of logs, reports and tickets."""

from __future__ import annotations

import os
import re

_DSN_PASSWORD = re.compile(r"(?P<scheme>postgres(?:ql)?://)(?P<user>[^:@/\s]*):(?P<pw>[^@/\s]*)@")
_KV_PASSWORD = re.compile(r"(?P<key>\bpassword\s*=\s*)(?P<pw>'[^']*'|\S+)", re.IGNORECASE)
# Env vars whose values are secrets wherever they show up.
_SECRET_ENV = re.compile(r"(TOKEN|SECRET|PASSWORD|KEY|WEBHOOK|DATABASE_URL|DB_URL)", re.IGNORECASE)
MASK = "***"


def redact_dsn(dsn: str) -> str:
    """Return the DSN with any password masked (URL and key=value forms)."""
    dsn = _DSN_PASSWORD.sub(lambda m: f"{m['scheme']}{m['user']}:{MASK}@", dsn)
    return _KV_PASSWORD.sub(lambda m: f"{m['key']}{MASK}", dsn)


def secret_values(environ: dict[str, str] | None = None) -> list[str]:
    """Values of the environment's secret-looking variables, longest first."""
    env = os.environ if environ is None else environ
    values = {v for k, v in env.items() if _SECRET_ENV.search(k) and len(v) >= 6}
    return sorted(values, key=len, reverse=True)


def redact(text: str, environ: dict[str, str] | None = None) -> str:
    """Mask DSN passwords and every secret env value appearing in ``text``."""
    for value in secret_values(environ):
        # A database URL keeps its host readable; any other secret (token, webhook URL) goes whole.
        is_dsn = value.startswith(("postgres://", "postgresql://")) or "password=" in value.lower()
        replacement = redact_dsn(value) if is_dsn else MASK
        if replacement != value:
            text = text.replace(value, replacement)
    return redact_dsn(text)
