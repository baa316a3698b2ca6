"""``GET /v1/sessions/{id}/transcript``: authorised like the summary route, in four formats."""

from __future__ import annotations

import json
from typing import Any

from agentflow.aws import records
from agentflow.aws.clients import client
from agentflow.settings import get_settings

from .support import Caller, bearer, token_of

TRANSCRIPT = [
    {"id": "u1", "speaker": "Dr. Ada Host", "start": 0.0, "end": 2.5, "text": "Hello Bob."},
    {"id": "u2", "speaker": "Bob Client", "start": 2.9, "end": 4.0, "text": "Hi Ada."},
]


def _store_summary(ddb: Any, caller: Caller, session_id: str) -> None:
    """A completed summary as the summarize stage stores it (only the fields the route reads)."""
    key = f"recordings/rec_x{session_id}/summary.json"
    client("s3").put_object(
        Bucket=get_settings().bucket_name, Key=key, Body=json.dumps({"transcript": TRANSCRIPT}).encode()
    )
    tenant = caller.tenant.tenant_id
    records.put_new(
        ddb,
        {
            "pk": f"TENANT#{tenant}",
            "sk": f"SUMMARY#sum_{session_id}",
            "gsi1pk": f"SESSION#{session_id}",
            "gsi1sk": f"SUMMARY#sum_{session_id}",
            "entity": "summary",
            "tenant_id": tenant,
            "session_id": session_id,
            "summary_key": key,
            "status": "COMPLETED",
        },
        actor="test",
    )


def test_formats_with_an_api_key_or_the_sessions_join_token(ddb: Any, alice: Caller, bob: Caller) -> None:
    created = alice.create_ok()
    sid = created["session_id"]
    url = f"/v1/sessions/{sid}/transcript"
    assert alice.http.get(url, headers=alice.auth).status_code == 404  # no summary yet
    _store_summary(ddb, alice, sid)

    vtt = alice.http.get(url, headers=alice.auth)
    assert vtt.status_code == 200 and vtt.headers["content-type"].startswith("text/vtt")
    assert "<v Dr. Ada Host>Hello Bob.</v>" in vtt.text
    srt = alice.http.get(url, params={"format": "srt"}, headers=alice.auth)
    assert srt.headers["content-type"].startswith("application/x-subrip")
    assert "00:00:02,900 --> 00:00:04,000\nBob Client: Hi Ada." in srt.text
    txt = alice.http.get(url, params={"format": "txt"}, headers=alice.auth)
    assert txt.text.splitlines()[1] == "[00:00:02.900 - 00:00:04.000] Bob Client: Hi Ada."
    assert alice.http.get(url, params={"format": "json"}, headers=alice.auth).json() == TRANSCRIPT

    # the session's own join token reads it; another tenant's key and an unknown format do not
    client_token = token_of(created["widget_urls"]["client"])
    assert alice.http.get(url, headers=bearer(client_token)).status_code == 200
    assert bob.http.get(url, headers=bob.auth).status_code == 404
    other = alice.create_ok()["session_id"]
    assert alice.http.get(f"/v1/sessions/{other}/transcript", headers=bearer(client_token)).status_code == 404
    assert alice.http.get(url, params={"format": "docx"}, headers=alice.auth).status_code == 422
    assert alice.http.get(url).status_code == 401
