"""The HTTP API: a FastAPI app with one router per resource, wrapped by Mangum in Lambda."""
