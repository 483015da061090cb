"""Root conftest: the healstack plugin serves both checks/ (the guardrails) and tests/."""

pytest_plugins = ["healstack.plugin"]
