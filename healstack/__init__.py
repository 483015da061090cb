"""healstack: verify and heal a Postgres/Supabase data stack."""

__version__ = "0.1.0"
