"""Transcription jobs → transcript.json (faster-whisper)."""

from agentflow.stages.batch import sqs_handler
from agentflow.stages.transcribe import handle_record

lambda_handler = sqs_handler("transcribe", handle_record)
