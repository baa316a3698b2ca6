"""The track API over real HTTP and moto: who may write, what a grant binds, resume, completion."""

from __future__ import annotations

import time
from datetime import UTC, datetime
from urllib.parse import parse_qs, urlencode, urlsplit, urlunsplit

import httpx
from agentflow.aws.clients import client
from agentflow.local.stack import LOCAL_CREDENTIALS, LocalStack

from tests.pipeline.support import events_of
from tests.services.tracks.conftest import Call, new_call
from tests.services.tracks.support import sigv4_query_signature

AUDIO = "audio/webm;codecs=opus"


def _track(call: Call, role: str = "host") -> str:
    page = call.host if role == "host" else call.client
    opened = page.open_track()
    assert opened.status_code == 201, opened.text
    return str(opened.json()["track_id"])


def test_a_participant_cannot_write_another_participants_or_sessions_track(
    stack: LocalStack, call: Call
) -> None:
    # GIVEN the host's track, and a participant of another session
    host_track = _track(call, "host")
    stranger = new_call(stack).client
    # WHEN the client's token asks for part URLs of it, completes it or lists it
    grant = call.client.grant(host_track, {1: b"x" * 10})
    complete = call.client.complete(host_track, 1)
    listed = call.client.call("GET", f"/{host_track}/parts")
    # THEN each is refused with a reason naming whose track it is
    for response in (grant, complete, listed):
        assert response.status_code == 403, response.text
        assert "host's" in response.json()["detail"]
    # and the client's list of tracks does not show it
    assert call.client.call("GET", "").json()["items"] == []
    # and a token of another session cannot even see the session (404, as if absent)
    foreign = httpx.post(
        f"{stack.api_url}/v1/sessions/{call.session_id}/tracks/{host_track}/parts",
        headers=stranger.headers,
        json={"parts": [{"part_number": 1, "size_bytes": 10}]},
    )
    assert foreign.status_code == 404
    assert foreign.json()["detail"] == f"Session {call.session_id} not found"
    # and an API key does not write tracks (a browser does, with its join token)
    by_key = call.api.call("POST", f"/v1/sessions/{call.session_id}/tracks", json={})
    assert by_key.status_code in (403, 422)
    by_key = call.api.call(
        "POST",
        f"/v1/sessions/{call.session_id}/tracks",
        json={
            "kind": "audio",
            "content_type": AUDIO,
            "started_at_server_ms": int(time.time() * 1000),
            "clock_error_ms": 1,
        },
    )
    assert by_key.status_code == 403
    assert "join token" in by_key.json()["detail"]


def test_a_part_url_is_short_lived_and_binds_its_type_size_and_single_write(call: Call) -> None:
    # GIVEN a track and a part of 1234 bytes
    track = _track(call)
    before = datetime.now(UTC).replace(microsecond=0)
    granted = call.host.grant(track, {1: b"a" * 1234})
    assert granted.status_code == 200, granted.text
    part = granted.json()["parts"][0]
    query = {k: v[0] for k, v in parse_qs(urlsplit(part["url"]).query).items()}
    # THEN it expires after the part URL TTL (300 s), from the moment it was signed
    assert query["X-Amz-Expires"] == "300"
    signed_at = datetime.strptime(query["X-Amz-Date"], "%Y%m%dT%H%M%SZ").replace(tzinfo=UTC)
    assert before <= signed_at <= datetime.now(UTC)
    expires_at = datetime.fromisoformat(part["expires_at"].replace("Z", "+00:00"))
    assert abs((expires_at - signed_at).total_seconds() - 300) < 2
    # and the signature covers the exact length, the type and If-None-Match (write once)
    assert query["X-Amz-SignedHeaders"].split(";") == [
        "content-length",
        "content-type",
        "host",
        "if-none-match",
    ]
    assert part["headers"] == {"Content-Type": AUDIO, "If-None-Match": "*"}
    headers = {**part["headers"], "Content-Length": "1234"}
    secret = LOCAL_CREDENTIALS["AWS_SECRET_ACCESS_KEY"]
    assert sigv4_query_signature(part["url"], headers, secret_key=secret) == query["X-Amz-Signature"]
    # and a URL whose expiry is lengthened, or sent with another length or type, no longer matches
    # (S3 answers 403 SignatureDoesNotMatch; moto does not check signatures, so the check is here)
    parts = urlsplit(part["url"])
    longer = urlunsplit(parts._replace(query=urlencode({**query, "X-Amz-Expires": "86400"})))
    assert sigv4_query_signature(longer, headers, secret_key=secret) != query["X-Amz-Signature"]
    for changed in ({"Content-Length": "99999"}, {"Content-Type": "text/html"}):
        assert (
            sigv4_query_signature(part["url"], {**headers, **changed}, secret_key=secret)
            != query["X-Amz-Signature"]
        )


def test_an_oversized_or_non_audio_track_fails_with_a_reason(call: Call) -> None:
    # WHEN a page opens a track of a type that is not audio, or of a video type as audio
    for content_type in (
        "text/plain",
        "application/octet-stream",
        "video/webm",
        "audio/webm;codecs=<script>",
    ):
        refused = call.host.open_track(content_type=content_type)
        # THEN it is refused, naming the field and what is accepted
        assert refused.status_code == 422, content_type
        assert refused.json()["detail"]["field"] == "content_type"
        assert "audio/webm" in refused.json()["detail"]["message"]
    # WHEN a part is larger than an audio part can be (1 MiB)
    track = _track(call)
    oversized = call.host.call(
        "POST", f"/{track}/parts", json={"parts": [{"part_number": 1, "size_bytes": 1024**2 + 1}]}
    )
    # THEN the grant is refused with the limit
    assert oversized.status_code == 422
    assert oversized.json()["detail"] == {
        "field": "parts.0.size_bytes",
        "message": "part 1 is 1048577 bytes, over the limit of 1048576 bytes per audio part",
    }
    # and a part number beyond the duration limit (4 h at 1 s per part) is refused too
    beyond = call.host.call(
        "POST", f"/{track}/parts", json={"parts": [{"part_number": 14_401, "size_bytes": 10}]}
    )
    assert beyond.status_code == 422
    assert "beyond this track's 14400 parts" in beyond.json()["detail"]["message"]
    # and a timeslice over 10 s (more than 10 s lost with a dying tab) is refused
    assert call.host.open_track(timeslice_ms=20_000).status_code == 422
    # and a start in the future of the server's clock is refused
    future = call.host.open_track(started_at_server_ms=int(time.time() * 1000) + 3_600_000)
    assert future.status_code == 422
    assert future.json()["detail"]["field"] == "started_at_server_ms"


def test_completing_twice_is_harmless(stack: LocalStack, call: Call) -> None:
    # GIVEN a track with three parts stored
    track = _track(call)
    assert call.host.upload(track, {n: bytes([n]) * 100 for n in (1, 2, 3)}) == [200, 200, 200]
    # WHEN it is completed twice with the same count
    first, second = call.host.complete(track, 3), call.host.complete(track, 3)
    # THEN both answer the same completed track
    assert first.status_code == second.status_code == 200
    assert first.json() == second.json()
    assert first.json()["status"] == "COMPLETED"
    assert first.json()["part_count"] == 3
    # and track.uploaded was recorded once, naming the participant
    events = events_of(stack, call.session_id, "track.uploaded")
    assert len(events) == 1
    assert '"participant":"Dana"' in events[0]["payload"]
    assert '"parts_stored":3' in events[0]["payload"]
    # and a completion with another count is a conflict, and a complete track takes no parts
    assert call.host.complete(track, 4).status_code == 409
    late = call.host.grant(track, {4: b"z"})
    assert late.status_code == 409
    assert "complete" in late.json()["detail"]


def test_a_reloaded_page_lists_its_stored_parts_and_sends_only_the_others(
    stack: LocalStack, call: Call
) -> None:
    # GIVEN a page that stored parts 1-3 of 5 and then reloaded (its chunks kept, e.g. in IndexedDB)
    track = _track(call, "client")
    chunks = {n: f"chunk {n} ".encode() * 50 for n in range(1, 6)}
    call.client.upload(track, {n: chunks[n] for n in (1, 2, 3)})
    # WHEN the reloaded page lists its tracks and that track's stored parts
    mine = call.client.call("GET", "").json()["items"]
    assert [t["track_id"] for t in mine] == [track]
    stored = call.client.stored(track)
    assert [p["part_number"] for p in stored["parts"]] == [1, 2, 3]
    assert stored["missing"] == []
    # and sends the rest
    statuses = call.client.upload(track, {n: chunks[n] for n in range(1, 6) if n not in {1, 2, 3}})
    assert statuses == [200, 200]
    # THEN a stray retry of a stored part is refused by S3 itself (the URL demands If-None-Match: *)
    assert call.client.upload(track, {2: chunks[2]}) == [412]
    # and every part is stored exactly once, with its bytes
    listed = client("s3").list_object_versions(Bucket=stack.ref("RecordingsBucket"), Prefix="tracks/")
    mine = f"/{call.session_id}/client/{track}/"
    keys = sorted(v["Key"].rsplit("/", 1)[1] for v in listed.get("Versions", []) if mine in v["Key"])
    assert keys == [f"{n:06d}.webm" for n in range(1, 6)]
    assert [p["size_bytes"] for p in call.client.stored(track)["parts"]] == [
        len(chunks[n]) for n in range(1, 6)
    ]


def test_the_bucket_allows_browser_puts_and_aborts_forgotten_multipart_uploads(stack: LocalStack) -> None:
    s3 = client("s3")
    bucket = stack.ref("RecordingsBucket")
    cors = s3.get_bucket_cors(Bucket=bucket)["CORSRules"]
    assert any("PUT" in rule["AllowedMethods"] and "ETag" in rule.get("ExposeHeaders", []) for rule in cors)
    rules = s3.get_bucket_lifecycle_configuration(Bucket=bucket)["Rules"]
    assert [(r["Status"], r["AbortIncompleteMultipartUpload"]["DaysAfterInitiation"]) for r in rules] == [
        ("Enabled", 3)
    ]
