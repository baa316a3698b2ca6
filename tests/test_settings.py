"""Settings read the environment as pydantic-settings did before them (case-insensitive, JSON lists)."""

from __future__ import annotations

import pydantic
import pytest
from agentflow.settings import Settings


def test_environment_in_any_case_with_alias_and_json_list(monkeypatch: pytest.MonkeyPatch) -> None:
    # GIVEN variables as template.yaml sets them, one in lower case, and a JSON list
    monkeypatch.setenv("TABLE_NAME", "agentflow-dev-Table-X")
    monkeypatch.setenv("local_mode", "true")
    monkeypatch.setenv("AWS_REGION", "eu-central-1")
    monkeypatch.setenv("MAX_UPLOAD_BYTES", "1024")
    monkeypatch.setenv("WEBHOOK_RETRY_SCHEDULE_SECONDS", "[1, 2.5]")
    # WHEN settings are read
    settings = Settings()
    # THEN each is typed from its variable
    assert settings.table_name == "agentflow-dev-Table-X"
    assert settings.local_mode is True
    assert settings.aws_region == "eu-central-1"
    assert settings.max_upload_bytes == 1024
    assert settings.webhook_retry_schedule_seconds == [1.0, 2.5]


def test_keywords_win_over_the_environment_by_name_or_alias(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AWS_REGION", "eu-central-1")
    monkeypatch.setenv("TABLE_NAME", "from-env")
    assert Settings(aws_region="us-west-2", table_name="given").aws_region == "us-west-2"
    assert Settings(AWS_REGION="ap-south-1").aws_region == "ap-south-1"
    assert Settings(table_name="given").table_name == "given"


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("UPLOAD_URL_TTL_SECONDS", "901"),
        ("SUMMARY_PROVIDER", "nope"),
        ("WEBHOOK_RETRY_SCHEDULE_SECONDS", "5"),
    ],
)
def test_invalid_variables_are_refused(monkeypatch: pytest.MonkeyPatch, name: str, value: str) -> None:
    monkeypatch.setenv(name, value)
    with pytest.raises(pydantic.ValidationError):
        Settings()


def test_unknown_variables_are_ignored(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SOMETHING_ELSE", "x")
    monkeypatch.delenv("STAGE", raising=False)
    assert Settings().stage == "local"
