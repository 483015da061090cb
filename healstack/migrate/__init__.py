"""Migrations: discovery, the ledger, apply, drift detection, safety lint, rollback rehearsal."""
