"""Verify phase: schema parity against the migrations, and static security/performance lints."""
