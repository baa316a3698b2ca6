"""Dead-letter queues → recording FAILED, summary.failed."""

from agentflow.stages.batch import sqs_handler
from agentflow.stages.failures import handle_record

lambda_handler = sqs_handler("failures", handle_record)
