"""Run the DQ benchmark's six rules as a Soda Core scan, with and without failed-row samples.

Usage: python soda_scan.py HOST PORT DATABASE RUNS. Prints {"with_samples": [s, ...], "without_samples":
[s, ...], "observed": {check: value}}; each figure times Scan.execute() alone (imports and parsing excluded)."""

from __future__ import annotations

import json
import sys
import time

from soda.scan import Scan

CHECKS = """checks for dq_bench:
  - missing_count(user_id) = 0{no_samples}
  - missing_count(name) = 0{no_samples}
  - duplicate_count(user_id, name, occurred_at) = 0{no_samples}
  - freshness(occurred_at) < 26h
  - invalid_count(name) = 0:
      valid values: [page_view, add_to_cart, purchase, search]{no_samples_nested}
  - failed rows:
      name: not in future
      fail condition: occurred_at > now() + interval '5 minutes'{no_samples_nested}
"""


def _scan(host: str, port: str, database: str, samples: bool) -> tuple[float, dict[str, object]]:
    scan = Scan()
    scan.set_data_source_name("bench")
    scan.add_configuration_yaml_str(f"data_source bench:\n  type: postgres\n  host: {host}\n  port: \"{port}\"\n"
                                    f"  username: postgres\n  password: \"\"\n  database: {database}\n"
                                    "  schema: public\n")
    scan.add_sodacl_yaml_str(CHECKS.format(no_samples="" if samples else ":\n      samples limit: 0",
                                           no_samples_nested="" if samples else "\n      samples limit: 0"))
    started = time.perf_counter()
    scan.execute()
    seconds = time.perf_counter() - started
    results = scan.get_scan_results()
    if results.get("hasErrors"):
        raise SystemExit("soda scan errors: " + scan.get_logs_text()[-500:])
    return seconds, {c["name"]: c.get("diagnostics", {}).get("value") for c in results["checks"]}


def main() -> None:
    host, port, database, runs = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
    out: dict[str, object] = {}
    for label, samples in (("with_samples", True), ("without_samples", False)):
        timings = []
        for _ in range(runs):
            seconds, observed = _scan(host, port, database, samples)
            timings.append(seconds)
        out[label] = timings
        out["observed"] = observed
    print(json.dumps(out))


if __name__ == "__main__":
    main()
