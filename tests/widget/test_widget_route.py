"""The API's widget routes: the built page and its assets in local mode, nothing outside it."""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from agentflow.api.app import create_app
from agentflow.api.routes.widget import WIDGET_DIST
from agentflow.settings import Settings, get_settings
from fastapi.testclient import TestClient

WIDGET = Path(__file__).resolve().parents[2] / "widget"


def client_for(*, local_mode: bool) -> TestClient:
    app = create_app()
    app.dependency_overrides[get_settings] = lambda: Settings(local_mode=local_mode)
    return TestClient(app)


@pytest.fixture
def local() -> Iterator[TestClient]:
    with client_for(local_mode=True) as http:
        yield http


def test_page_is_served_with_headers_that_protect_the_token(local: TestClient) -> None:
    # WHEN the widget URL of a session is opened in local mode
    response = local.get("/widget/ses_0123")
    # THEN it is the built page, never cached, never leaking its URL as a Referer
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/html")
    assert response.text == (WIDGET_DIST / "index.html").read_text()
    assert response.headers["cache-control"] == "no-store"
    assert response.headers["referrer-policy"] == "no-referrer"
    assert "script-src 'self'" in response.headers["content-security-policy"]


def test_assets_are_served_by_name_only(local: TestClient) -> None:
    script = local.get("/widget/assets/main.js")
    assert script.status_code == 200
    assert script.headers["content-type"].startswith("text/javascript")
    assert local.get("/widget/assets/widget.css").headers["content-type"].startswith("text/css")
    # nothing outside dist/assets, however the name is spelled
    for name in ("..%2Findex.html", "%2E%2E%2F%2E%2E%2Fpackage.json", "missing.js"):
        response = local.get(f"/widget/assets/{name}")
        assert response.status_code == 404, name
        assert "detail" in response.json()


def test_outside_local_mode_the_api_does_not_serve_the_widget() -> None:
    with client_for(local_mode=False) as http:
        for path in ("/widget/ses_0123", "/widget/assets/main.js"):
            response = http.get(path)
            assert response.status_code == 404
            assert response.json() == {
                "detail": "The widget is served from its static site outside local mode"
            }


def _inputs_sha256(names: list[str]) -> str:
    """The build's input hash, as widget/scripts/stamp.mjs computes it (sorted paths; path NUL content NUL)."""
    files = sorted(
        p.relative_to(WIDGET).as_posix()
        for name in names
        for p in ([WIDGET / name] if (WIDGET / name).is_file() else (WIDGET / name).rglob("*"))
        if p.is_file()
    )
    digest = hashlib.sha256()
    for name in files:
        digest.update(name.encode() + b"\0" + (WIDGET / name).read_bytes() + b"\0")
    return digest.hexdigest()


def test_committed_build_matches_the_sources() -> None:
    # GIVEN the committed Vite build (the Python side never needs node) and its stamp
    stamp = json.loads((WIDGET_DIST / "build.json").read_text())
    # THEN it was built from exactly the committed sources, lock file and build configuration
    # (rebuild after any change: cd widget && npm ci && npm run build)
    assert {"src", "package-lock.json", "vite.config.ts"} <= set(stamp["inputs"])
    assert stamp["inputs_sha256"] == _inputs_sha256(stamp["inputs"]), "widget/dist is behind widget/src"
    # AND dist holds exactly the files that build wrote, unedited
    built = {
        p.relative_to(WIDGET_DIST).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in WIDGET_DIST.rglob("*")
        if p.is_file() and p.name != "build.json"
    }
    assert built == stamp["files"]
    assert set(built) == {"index.html", "assets/main.js", "assets/widget.css"}


def test_the_page_loads_only_its_own_assets_under_the_widget_route() -> None:
    # The API serves the assets at /widget/assets/{name} (vite base "/widget/"), and the CSP allows
    # no inline script: the page names its script and stylesheet by URL only.
    page = (WIDGET_DIST / "index.html").read_text()
    assert re.findall(r'<script[^>]*src="([^"]+)"', page) == ["/widget/assets/main.js"]
    assert re.findall(r'<link rel="stylesheet"[^>]*href="([^"]+)"', page) == ["/widget/assets/widget.css"]
    assert not re.search(r"<script(?![^>]*\bsrc=)[^>]*>", page), "inline script: the CSP would block it"
    assert not re.search(r"<style|style=", page)


def test_csp_lets_the_page_reach_the_signaling_websocket(local: TestClient) -> None:
    csp = local.get("/widget/ses_0123").headers["content-security-policy"]
    connect = next(d for d in csp.split(";") if d.strip().startswith("connect-src")).split()
    assert {"'self'", "ws:", "wss:"} <= set(connect)
    assert "script-src 'self'" in csp and "'unsafe-inline'" not in csp
