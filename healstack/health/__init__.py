"""Database health: the audits PgHero and `supabase inspect db` run, with thresholds, and the stack's own
query plans (the health phase)."""


def size(n: float) -> str:
    """Bytes as a person reads them: 656.0 kB, 1.2 GB."""
    for unit in ("B", "kB", "MB", "GB"):
        if abs(n) < 1024 or unit == "GB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1024
    return f"{n:.1f} TB"
