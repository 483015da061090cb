"""Root conftest: pytester lets tests/ run healstack's guardrails (healstack.checks, loaded through the
plugin's pytest11 entry point) against seeded-defect databases."""

pytest_plugins = ["pytester"]
