"""The backlog: failing checks become tickets (Markdown files, and optionally GitHub issues) that track
themselves from run to run."""
