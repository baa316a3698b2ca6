"""API Gateway HTTP API (payload 2.0) → Mangum → the FastAPI app."""

from agentflow.api.app import create_app
from mangum import Mangum

lambda_handler = Mangum(create_app(), lifespan="off")
