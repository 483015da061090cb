"""`python -m healstack.bench [NAME ...]` runs the named benchmarks (default: all)."""

import sys

from healstack.bench import apply, dq, etl, health, pii, rls, verify

BENCHMARKS = {"apply": apply.main, "verify": verify.main, "rls": rls.main, "dq": dq.main, "etl": etl.main,
              "health": health.main, "pii": pii.main}

names = sys.argv[1:] or list(BENCHMARKS)
unknown = [n for n in names if n not in BENCHMARKS]
if unknown:
    sys.exit(f"healstack bench: unknown benchmark {', '.join(unknown)}; known: {', '.join(BENCHMARKS)}")
for name in names:
    BENCHMARKS[name]()
