"""The stored session item: built field by field (a TypedDict), so nothing the request gave is lost."""

from __future__ import annotations

from agentflow.schemas.sessions import CreateSessionRequest
from agentflow.services.sessions import session_item

EVERY_FIELD = {
    "host": {"name": "Dana", "external_user_id": "u-1"},
    "client": {"name": "Eli", "external_user_id": "u-2"},
    "auto_start_recording": False,
    "webhook_url": "https://example.com/hook",
    "language": "en",
    "num_speakers": 2,
    "min_speakers": 1,
    "max_speakers": 3,
    "workflow_id": "wfl_01jdexample",
    "vocabulary": ["AgentFlow", "pyannote"],
}


def test_the_item_stores_every_field_the_request_gave() -> None:
    # GIVEN a create request that sets every field there is
    request = CreateSessionRequest.model_validate(EVERY_FIELD)
    dumped = request.model_dump(mode="json", exclude_none=True)
    assert set(dumped) == set(CreateSessionRequest.model_fields), "a new request field: store it too"

    # WHEN it becomes the stored session
    item = session_item(
        request, tenant_id="ten_1", session_id="ses_1", now="2026-12-02T07:00:00.000Z", actor="t"
    )

    # THEN each field is stored as the request's JSON has it, beside the keys and audit fields
    assert {name: item[name] for name in dumped} == dumped
    assert (item["pk"], item["sk"], item["status"]) == ("TENANT#ten_1", "SESSION#ses_1", "scheduled")
    assert (item["created_at"], item["updated_by"]) == ("2026-12-02T07:00:00.000Z", "t")


def test_fields_the_request_left_out_are_not_stored() -> None:
    # GIVEN a request with only the participants
    request = CreateSessionRequest.model_validate({"host": {"name": "Dana"}, "client": {"name": "Eli"}})

    # WHEN it becomes the stored session
    item = session_item(
        request, tenant_id="ten_1", session_id="ses_1", now="2026-12-02T07:00:00.000Z", actor="t"
    )

    # THEN no optional field is there, not even as None (DynamoDB would store a NULL)
    assert item["host"] == {"name": "Dana"}
    assert set(item) == {
        *(
            "pk",
            "sk",
            "entity",
            "tenant_id",
            "session_id",
            "status",
            "host",
            "client",
            "auto_start_recording",
        ),
        *("created_at", "created_by", "updated_at", "updated_by"),
    }
