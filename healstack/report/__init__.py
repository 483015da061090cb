"""What a run leaves behind, read from its one results stream: reports/<run id>/results.jsonl and run.json, the
sign-off report (index.html), the run summaries, the tickets and the notifications."""
