"""``GET /v1/sessions/{id}/ice-servers``: KVS channels (Stubber), coturn credentials, none locally."""

from __future__ import annotations

import base64
import hashlib
import hmac
from typing import Any

import boto3
import httpx
import pytest
from agentflow.api.app import create_app
from agentflow.api.routes.calls import KvsClients, get_kvs_clients
from agentflow.local.stack import LocalStack
from agentflow.settings import get_settings
from agentflow.signaling.ice import configured_ice_servers, coturn_credentials, kvs_ice_servers, pick_channel
from botocore.stub import Stubber
from fastapi.testclient import TestClient

from .support import CallSession, create_session

CHANNELS = [
    f"arn:aws:kinesisvideo:us-east-1:123456789012:channel/agentflow-{i}/1700000000000" for i in range(3)
]


def _bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def test_locally_there_are_no_ice_servers(stack: LocalStack, http: httpx.Client, call: CallSession) -> None:
    response = http.get(f"/v1/sessions/{call.session_id}/ice-servers", headers=_bearer(call.client_token))
    assert response.status_code == 200, response.text
    assert response.json() == {"ice_servers": [], "ttl_seconds": 0}
    # and the session view names the local WebSocket API
    view = http.get(f"/v1/sessions/{call.session_id}", headers=_bearer(call.client_token)).json()
    assert view["signaling_url"] == stack.signaling_url and view["signaling_url"].startswith(
        "ws://127.0.0.1:"
    )


def test_only_this_sessions_join_token_gets_ice_servers(http: httpx.Client, call: CallSession) -> None:
    other = create_session(http, call.tenant)
    url = f"/v1/sessions/{call.session_id}/ice-servers"
    assert http.get(url, headers=_bearer(other.host_token)).status_code == 404
    assert http.get(url, headers=_bearer(call.tenant.api_key)).status_code == 403
    assert http.get(url).status_code == 401


def test_coturn_credentials_are_the_rest_api_scheme() -> None:
    username, credential = coturn_credentials(
        "s3cret", session_id="ses_1", role="host", ttl_seconds=600, now=1000
    )
    assert username == "1600:ses_1:host"
    assert (
        credential
        == base64.b64encode(hmac.new(b"s3cret", b"1600:ses_1:host", hashlib.sha1).digest()).decode()
    )
    config = configured_ice_servers(
        stun_urls=["stun:stun.example.com:3478"],
        turn_urls=["turn:turn.example.com:3478?transport=udp"],
        turn_secret="s3cret",
        session_id="ses_1",
        role="client",
        ttl_seconds=600,
    )
    stun, turn = config.ice_servers
    assert stun.urls == ["stun:stun.example.com:3478"] and stun.username is None
    assert turn.username is not None and turn.username.endswith(":ses_1:client") and turn.credential
    assert config.ttl_seconds == 600


def test_a_session_keeps_its_channel_and_sessions_spread_over_the_pool() -> None:
    picks = [pick_channel(CHANNELS, f"ses_{i:026d}") for i in range(300)]
    assert pick_channel(CHANNELS, "ses_x") == pick_channel(CHANNELS, "ses_x")
    assert all(picks.count(c) > 60 for c in CHANNELS)


def _stubbed_kvs(channel: str, client_id: str) -> tuple[Any, Any, list[Stubber]]:
    kinesisvideo = boto3.client("kinesisvideo", region_name="us-east-1")
    signaling = boto3.client(
        "kinesis-video-signaling", region_name="us-east-1", endpoint_url="https://r-1.kinesisvideo.example"
    )
    kv_stub, sig_stub = Stubber(kinesisvideo), Stubber(signaling)
    kv_stub.add_response(
        "get_signaling_channel_endpoint",
        {
            "ResourceEndpointList": [
                {"Protocol": "HTTPS", "ResourceEndpoint": "https://r-1.kinesisvideo.example"}
            ]
        },
        {
            "ChannelARN": channel,
            "SingleMasterChannelEndpointConfiguration": {"Protocols": ["HTTPS"], "Role": "VIEWER"},
        },
    )
    sig_stub.add_response(
        "get_ice_server_config",
        {
            "IceServerList": [
                {"Uris": ["turn:1.2.3.4:443?transport=udp"], "Username": "u", "Password": "p", "Ttl": 300}
            ]
        },
        {"ChannelARN": channel, "ClientId": client_id, "Service": "TURN"},
    )
    kv_stub.activate()
    sig_stub.activate()
    return kinesisvideo, signaling, [kv_stub, sig_stub]


def test_kvs_channel_gives_managed_stun_and_turn() -> None:
    channel = CHANNELS[1]
    kinesisvideo, signaling, stubs = _stubbed_kvs(channel, "ses_1-host")
    endpoints: list[str] = []

    def signaling_for(endpoint: str) -> Any:
        endpoints.append(endpoint)
        return signaling

    config = kvs_ice_servers(
        kinesisvideo, signaling_for, channel_arn=channel, client_id="ses_1-host", region="eu-west-1"
    )
    assert endpoints == ["https://r-1.kinesisvideo.example"]
    assert config.ice_servers[0].urls == ["stun:stun.kinesisvideo.eu-west-1.amazonaws.com:443"]
    assert (config.ice_servers[1].username, config.ice_servers[1].credential) == ("u", "p")
    assert config.ttl_seconds == 300
    for stub in stubs:
        stub.assert_no_pending_responses()


def test_the_route_uses_the_pool_when_channels_are_configured(
    stack: LocalStack, http: httpx.Client, call: CallSession, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("KVS_SIGNALING_CHANNEL_ARNS", ",".join(CHANNELS))
    get_settings.cache_clear()
    try:
        channel = pick_channel(CHANNELS, call.session_id)
        kinesisvideo, signaling, stubs = _stubbed_kvs(channel, f"{call.session_id}-client")
        app = create_app()
        app.dependency_overrides[get_kvs_clients] = lambda: KvsClients(
            kinesisvideo, lambda endpoint: signaling
        )
        with TestClient(app) as client:
            response = client.get(
                f"/v1/sessions/{call.session_id}/ice-servers", headers=_bearer(call.client_token)
            )
        assert response.status_code == 200, response.text
        body = response.json()
        assert body["ttl_seconds"] == 300
        assert body["ice_servers"][1] == {
            "urls": ["turn:1.2.3.4:443?transport=udp"],
            "username": "u",
            "credential": "p",
        }
        assert "username" not in body["ice_servers"][0]  # STUN: no credentials, keys left out
        for stub in stubs:
            stub.assert_no_pending_responses()
    finally:
        monkeypatch.delenv("KVS_SIGNALING_CHANNEL_ARNS")
        get_settings.cache_clear()
