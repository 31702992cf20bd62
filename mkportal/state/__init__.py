"""Reflex states: thin; they call services and hold only what the page shows."""
