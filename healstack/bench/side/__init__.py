"""Scripts the benchmarks run in side environments (Soda Core, dlt): standard library and the compared
tool only, never healstack's dependencies, so each runs under its own interpreter. Each prints one JSON
object on stdout."""
