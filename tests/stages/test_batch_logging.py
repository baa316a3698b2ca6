"""A queue stage's stdlib log lines come out as the stage's JSON, with its correlation keys."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap

SCRIPT = textwrap.dedent(
    """
    import logging
    from dataclasses import dataclass
    from agentflow.stages.batch import sqs_handler

    def handle(record):
        logging.getLogger("agentflow.stages.example").info("working on %s", record.body)

    @dataclass
    class Context:
        function_name: str = "example"
        memory_limit_in_mb: int = 128
        invoked_function_arn: str = "arn:aws:lambda:us-east-1:123456789012:function:example"
        aws_request_id: str = "req-1"

    event = {"Records": [{"messageId": "msg-1", "receiptHandle": "r", "body": "job-1", "attributes": {},
        "messageAttributes": {}, "md5OfBody": "", "eventSource": "aws:sqs",
        "eventSourceARN": "arn:aws:sqs:us-east-1:123456789012:q", "awsRegion": "us-east-1"}]}
    sqs_handler("example", handle)(event, Context())
    """
)


def test_stdlib_lines_carry_the_invocation_and_message_ids() -> None:
    # WHEN a stage's record handler logs through a module's stdlib logger
    done = subprocess.run(
        [sys.executable, "-c", SCRIPT],
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
        env={"PATH": "/usr/bin:/bin", "POWERTOOLS_TRACE_DISABLED": "true", "AWS_DEFAULT_REGION": "us-east-1"},
    )
    lines = [json.loads(line) for line in done.stdout.splitlines() if line.startswith("{")]
    # THEN the line is the stage's JSON, with the request id and the SQS message id
    [line] = [line for line in lines if line.get("message") == "working on job-1"]
    assert line["service"] == "agentflow-example" and line["level"] == "INFO"
    assert line["function_request_id"] == "req-1" and line["message_id"] == "msg-1"
