"""Root conftest: the healstack plugin serves both checks/ (the guardrails) and tests/.

pytester lets tests/ run the real checks/ against seeded-defect databases.
"""

pytest_plugins = ["healstack.plugin", "pytester"]
