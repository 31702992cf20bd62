"""Historic logs: ingestion, storage, authorized search and retention (issue #8)."""
