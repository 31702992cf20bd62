"""REST API v1, health and metrics endpoints (FastAPI, mounted into the Reflex app)."""
