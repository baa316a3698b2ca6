"""Stages write absolute URLs: an empty PublicApiUrl falls back to the HttpApi's own URL, as in AWS."""

from __future__ import annotations

import os

import pytest
from agentflow.local.stack import LocalStack
from agentflow.local.template import load_template
from agentflow.settings import Settings, get_settings


def test_an_empty_public_api_url_gives_the_stages_the_http_apis_own_url() -> None:
    # GIVEN a stack deployed without PublicApiUrl
    with LocalStack(api=False, pollers=False, parameters={"PublicApiUrl": ""}) as stack:
        # THEN the stages' PUBLIC_API_URL is the HttpApi's execute-api URL, absolute
        expected = f"https://{stack.ref('HttpApi')}.execute-api.{stack.region}.amazonaws.com"
        assert os.environ["PUBLIC_API_URL"] == expected
        assert get_settings().absolute_api_url() == expected


def test_the_api_function_keeps_the_parameter_to_avoid_a_cycle() -> None:
    # The API's integration refers to ApiFunction, so ApiFunction cannot refer to the HttpApi.
    template = load_template()
    assert template.functions["ApiFunction"].environment["PUBLIC_API_URL"] == {"Ref": "PublicApiUrl"}
    assert (
        template.functions["IngestFunction"].environment["PUBLIC_API_URL"]["Fn::If"][0] == "HasPublicApiUrl"
    )


@pytest.mark.parametrize("url", ["", "/", "/.well-known", "api.example.com", "ftp://api.example.com"])
def test_outside_local_mode_a_stage_refuses_a_relative_api_url(url: str) -> None:
    with pytest.raises(ValueError, match="absolute"):
        Settings(local_mode=False, public_api_url=url).absolute_api_url()


def test_an_absolute_api_url_is_used_without_its_trailing_slash() -> None:
    settings = Settings(local_mode=False, public_api_url="https://api.example.com/")
    assert settings.absolute_api_url() == "https://api.example.com"
