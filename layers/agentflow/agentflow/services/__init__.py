"""Factory-function services: each ``create_*_service(...)`` returns its typed operations."""
