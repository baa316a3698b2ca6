"""The API's widget routes: the built page and its assets in local mode, nothing outside it."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from agentflow.api.app import create_app
from agentflow.api.routes.widget import WIDGET_DIST
from agentflow.settings import Settings, get_settings
from fastapi.testclient import TestClient

WIDGET_SRC = Path(__file__).resolve().parents[2] / "widget" / "src"


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


def test_committed_build_matches_the_sources() -> None:
    # GIVEN the committed build (the Python side never needs node): every module compiled, the page
    # and stylesheet copied unchanged
    modules = sorted(p.stem for p in WIDGET_SRC.glob("*.ts"))
    assert modules and sorted(p.stem for p in (WIDGET_DIST / "assets").glob("*.js")) == modules
    assert (WIDGET_DIST / "index.html").read_bytes() == (WIDGET_SRC / "index.html").read_bytes()
    assert (WIDGET_DIST / "assets" / "widget.css").read_bytes() == (WIDGET_SRC / "widget.css").read_bytes()
    # and every exported function, class and constant of the sources is in the build
    exported = re.compile(r"^export (?:async )?(?:function|class|const) (\w+)", re.MULTILINE)
    for module in modules:
        wanted = exported.findall((WIDGET_SRC / f"{module}.ts").read_text())
        built = exported.findall((WIDGET_DIST / "assets" / f"{module}.js").read_text())
        assert wanted == built, module
