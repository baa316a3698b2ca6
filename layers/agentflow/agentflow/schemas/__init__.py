"""API bodies and queue messages (pydantic)."""
