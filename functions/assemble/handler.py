"""Assembly checks (via SQS) → the session's recording built from its participants' tracks."""

from agentflow.stages.assemble import handle_record
from agentflow.stages.batch import sqs_handler

lambda_handler = sqs_handler("assemble", handle_record)
