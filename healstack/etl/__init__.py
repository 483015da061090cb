"""The stack's ETL: four sources pulled page by page, loaded idempotently, metrics recomputed."""
