"""Webhook deliveries → signed POSTs with retries."""

from agentflow.stages.batch import sqs_handler
from agentflow.stages.deliver import handle_record

lambda_handler = sqs_handler("webhooks", handle_record)
