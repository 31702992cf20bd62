"""The durable operation runner (huey) and periodic jobs."""
