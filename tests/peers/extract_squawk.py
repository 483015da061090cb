"""Turn squawk's rule tests (sbdchd/squawk: crates/squawk_linter/src/rules/*.rs) into healstack's case table,
tests/peers/squawk_cases.json: each test's SQL, its rule, whether squawk refuses it (`lint_errors`) or passes
it (`lint_ok`), and the Postgres version it assumes where it names one. Run it on a checkout of squawk; the
JSON it writes is committed, so the tests need no network.

    python tests/peers/extract_squawk.py /path/to/squawk > tests/peers/squawk_cases.json
"""

from __future__ import annotations

import json
import re
import sys
from pathlib import Path

TEST = re.compile(r"#\[test\]\s*fn (?P<name>\w+)\(\)\s*\{(?P<body>.*?)\n    \}\n", re.DOTALL)
SQL = re.compile(r'let sql = (?:r#"(?P<raw>.*?)"#|"(?P<plain>(?:[^"\\]|\\.)*)")', re.DOTALL)
VERSION = re.compile(r'pg_version:\s*"(?P<version>\d+)"')


def cases(root: Path) -> list[dict[str, object]]:
    out: list[dict[str, object]] = []
    for path in sorted((root / "crates" / "squawk_linter" / "src" / "rules").glob("*.rs")):
        for test in TEST.finditer(path.read_text()):
            body = test["body"]
            sql = SQL.search(body)
            if sql is None or ("lint_errors" not in body and "lint_ok" not in body):
                continue
            version = VERSION.search(body)
            text = sql["raw"] if sql["raw"] is not None else sql["plain"].encode().decode("unicode_escape")
            out.append({"rule": path.stem, "test": test["name"], "sql": text.strip() + "\n",
                        "refused": "lint_errors" in body,
                        "pg_version": int(version["version"]) if version else None,
                        "assume_in_transaction": "assume_in_transaction: true" in body})
    return out


if __name__ == "__main__":
    json.dump(cases(Path(sys.argv[1])), sys.stdout, indent=1)
    sys.stdout.write("\n")
