"""Data quality: rules declared once (TOML per table, custom .sql), pushed down as few scans as possible."""
