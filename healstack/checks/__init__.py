"""healstack's guardrails as pytest checks: `pytest --pyargs healstack.checks` in a project folder runs them
against that project's migrations, contract and rules (see the README's "Configuration").

Each module is one phase of the runbook; each test reports everything its phase's function finds, one
subtest per result, so no database is touched at collection."""
