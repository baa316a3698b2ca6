"""Summary jobs → summary, PDF, KMS signature."""

from agentflow.stages.batch import sqs_handler
from agentflow.stages.summarize import handle_record

lambda_handler = sqs_handler("summarize", handle_record)
