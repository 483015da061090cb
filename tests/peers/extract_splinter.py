"""Turn splinter's own tests (supabase/splinter: test/sql/*.sql with test/expected/*.out) into healstack's case
table, tests/peers/splinter_cases.json: for each time a test file queries one of splinter's lints, the
statements run so far and how many rows splinter's expected output shows (a `count(*)`'s value, or the rows
listed). Run it on a checkout of splinter; the JSON it writes is committed, so the tests need no network.

    python tests/peers/extract_splinter.py /path/to/splinter > tests/peers/splinter_cases.json
"""

from __future__ import annotations

import json
import re
import sys
from pathlib import Path

from pglast import parser

LINT_QUERY = re.compile(r'from\s+lint\."(?P<lint>\d{4}_\w+)"', re.IGNORECASE)
ROWS = re.compile(r"^\((?P<n>\d+) rows?\)$")
SKIP = re.compile(r"^\s*(begin|rollback|commit)\s*;?\s*$", re.IGNORECASE)


def statements(text: str) -> list[str]:
    """The file's statements, as Postgres's parser splits them."""
    return [text[s.stmt_location:s.stmt_location + s.stmt_len].strip() if s.stmt_len else
            text[s.stmt_location:].strip() for s in parser.parse_sql(text)]


def expected_counts(out: str) -> list[int]:
    """Rows per lint query, in order, read from the expected output psql wrote."""
    lines, counts, i = out.splitlines(), [], 0
    while i < len(lines):
        if LINT_QUERY.search(lines[i]):
            count_query = "count(" in lines[i].lower()
            j = i + 1
            while not ROWS.match(lines[j].strip()):
                j += 1
            data = [line for line in lines[i + 1:j] if line.strip() and not set(line.strip()) <= set("-+")]
            rows = int(ROWS.match(lines[j].strip())["n"])  # type: ignore[index]
            counts.append(int(data[-1].strip()) if count_query and rows == 1 else rows)
            i = j
        i += 1
    return counts


def cases(root: Path) -> list[dict[str, object]]:
    out = []
    for path in sorted((root / "test" / "sql").glob("0*.sql")):
        expected = expected_counts((root / "test" / "expected" / f"{path.stem}.out").read_text())
        done: list[str] = []
        k = 0
        for statement in statements(path.read_text()):
            found = LINT_QUERY.search(statement)
            if found:
                out.append({"file": path.name, "checkpoint": k, "lint": found["lint"], "setup": list(done),
                            "expected": expected[k]})
                k += 1
            elif not SKIP.match(statement):
                done.append(statement)
        assert k == len(expected), (path.name, k, len(expected))
    return out


if __name__ == "__main__":
    json.dump(cases(Path(sys.argv[1])), sys.stdout, indent=1)
    sys.stdout.write("\n")
