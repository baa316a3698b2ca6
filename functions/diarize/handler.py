"""Diarization jobs → diarization.json (pyannote.audio)."""

from agentflow.stages.batch import sqs_handler
from agentflow.stages.diarize import handle_record

lambda_handler = sqs_handler("diarize", handle_record)
