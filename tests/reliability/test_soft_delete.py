"""Soft delete mid-pipeline: sessions deleted at each point of their recording's way through the
pipeline. Nothing is hard-deleted from DynamoDB or S3 (every item and object seen before is still
there after), and each recording finishes or stops in a defined state with every queue drained.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import pytest
from agentflow.local.client import ApiClient
from agentflow.local.stack import LocalStack

from tests.pipeline.support import integrator_for

from .support import Receiver, object_keys, queue_depths, scan_all, wait_drained, wait_for

pytestmark = pytest.mark.slow


def _status(api: ApiClient, rid: str) -> str:
    return str(api.recording(rid)["status"])


def _grant(api: ApiClient, sid: str) -> dict[str, Any]:
    return api.expect(
        201, "POST", f"/v1/sessions/{sid}/recordings", json={"filename": "a.wav", "content_type": "audio/wav"}
    )


def _post(grant: dict[str, Any], clip: Path) -> None:
    sent = httpx.post(
        grant["upload"]["url"],
        data=grant["upload"]["fields"],
        files={"file": ("a.wav", clip.read_bytes(), "audio/wav")},
        timeout=60,
    )
    assert sent.status_code in (200, 201, 204), sent.text


def test_deleting_sessions_mid_pipeline_hard_deletes_nothing_and_leaves_nothing_running(
    clips: list[Path], receiver: Receiver
) -> None:
    with LocalStack() as stack:
        api = integrator_for(stack, "soft-delete")
        sessions: dict[str, tuple[str, str]] = {}  # moment -> (session id, recording id)
        seen_items: set[tuple[str, str]] = set()
        seen_objects: set[str] = set()

        def remember() -> None:
            """Note every item and object that exists now: none of them may disappear later."""
            seen_items.update((i["pk"], i["sk"]) for i in scan_all(stack))
            seen_objects.update(object_keys(stack))

        def delete_when(moment: str, clip: Path, ready: Callable[[str], bool]) -> None:
            sid = api.create_session(webhook_url=receiver.url)["session_id"]
            grant = _grant(api, sid)
            _post(grant, clip)
            wait_for(lambda: ready(grant["recording_id"]), timeout=300, interval=0.05, what=moment)
            remember()
            api.expect(200, "DELETE", f"/v1/sessions/{sid}")
            sessions[moment] = (sid, grant["recording_id"])

        # GIVEN a session deleted after its upload grant but before the browser uploads
        sid = api.create_session(webhook_url=receiver.url)["session_id"]
        grant = _grant(api, sid)
        remember()
        api.expect(200, "DELETE", f"/v1/sessions/{sid}")
        _post(grant, clips[4])
        sessions["before upload"] = (sid, grant["recording_id"])
        # AND sessions deleted right after the upload, while processing, and once completed
        delete_when("after upload", clips[1], lambda rid: True)
        delete_when("processing", clips[2], lambda rid: _status(api, rid) in ("PROCESSING", "SUMMARIZING"))
        delete_when("completed", clips[3], lambda rid: _status(api, rid) == "COMPLETED")
        remember()

        # WHEN the pipeline has done all it will do
        wait_for(
            lambda: all(
                _status(api, rid) in ("COMPLETED", "FAILED", "UPLOADED") for _, rid in sessions.values()
            ),
            timeout=300,
            interval=0.5,
            what="every recording settled",
        )
        wait_drained(stack, timeout=90)
        items = {(i["pk"], i["sk"]): i for i in scan_all(stack)}

        # THEN no item and no object that ever existed has gone
        assert seen_items - set(items) == set(), f"{len(seen_items)} items seen, {len(items)} now"
        assert seen_objects - object_keys(stack) == set()
        # and each deleted session is kept, marked, and gone from the API
        for moment, (sid, rid) in sessions.items():
            session = next(i for k, i in items.items() if k[1] == f"SESSION#{sid}")
            assert session["status"] == "DELETED", moment
            assert session["deleted_at"] and session["deleted_by"].startswith("key:"), moment
            assert api.call("GET", f"/v1/sessions/{sid}").status_code == 404, moment
            assert api.call("GET", f"/v1/sessions/{sid}/summary").status_code == 404, moment
            # and its upload is still in the bucket
            recording = next(i for k, i in items.items() if k[1] == f"RECORDING#{rid}")
            assert recording["s3_key"] in object_keys(stack), moment
        # and recordings already under way finished; those not yet started stopped before the models
        finals = {
            moment: items[next(k for k in items if k[1] == f"RECORDING#{rid}")]
            for moment, (_, rid) in sessions.items()
        }
        assert finals["processing"]["status"] == "COMPLETED"
        assert finals["completed"]["status"] == "COMPLETED"
        assert finals["before upload"]["status"] == "UPLOADED"
        assert finals["before upload"]["stages"] == {}
        assert finals["after upload"]["status"] in ("UPLOADED", "COMPLETED")
        # and nothing is left in any queue or dead-letter queue
        assert set(queue_depths(stack).values()) == {0}
