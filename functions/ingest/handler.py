"""S3 object-created events (via SQS) → check the upload, fan out."""

from agentflow.stages.batch import sqs_handler
from agentflow.stages.ingest import handle_record

lambda_handler = sqs_handler("ingest", handle_record)
