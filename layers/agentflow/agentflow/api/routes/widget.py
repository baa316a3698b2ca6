"""The session widget, served by the API in local mode (``GET /widget/{session_id}`` and its assets).

In AWS the built files in ``widget/dist`` are deployed to S3 behind CloudFront instead (docs/WIDGET.md)
and these routes answer 404. The page is static: it reads the session id from its path and the join
token from its query string, and calls the API itself.
"""

from __future__ import annotations

from pathlib import Path

from fastapi import APIRouter
from fastapi.responses import FileResponse

from agentflow.api.deps import SettingsDep
from agentflow.errors import NotFoundError

router = APIRouter(prefix="/widget", tags=["widget"], include_in_schema=False)

# The repository's built widget (committed), beside the layer: <repo>/widget/dist.
WIDGET_DIST = Path(__file__).resolve().parents[5] / "widget" / "dist"

_MEDIA_TYPES = {".js": "text/javascript", ".css": "text/css", ".map": "application/json"}
_PAGE_HEADERS = {
    # The URL carries a join token: no caching, no Referer, and only this origin's scripts and styles.
    # connect-src: the API, the recordings bucket (S3 POST), and the signaling WebSocket (ws: locally,
    # wss: in AWS; its host differs from the API's).
    "Cache-Control": "no-store",
    "Referrer-Policy": "no-referrer",
    "X-Content-Type-Options": "nosniff",
    "Content-Security-Policy": (
        "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
        "media-src 'self' blob: mediastream:; connect-src 'self' http: https: ws: wss:; object-src 'none'; "
        "base-uri 'none'; form-action 'none'"
    ),
    "Permissions-Policy": "camera=(self), microphone=(self)",
}


def _require_local(local_mode: bool) -> None:
    if not local_mode:
        raise NotFoundError("The widget is served from its static site outside local mode")


def _dist_file(relative: str) -> Path:
    path = WIDGET_DIST / relative
    if not path.is_file():
        raise NotFoundError(f"Widget file {relative!r} not found (build it: cd widget && npm run build)")
    return path


@router.get("/assets/{name}")
def widget_asset(name: str, settings: SettingsDep) -> FileResponse:
    """One built asset (scripts and the stylesheet); only plain names inside ``dist/assets``."""
    _require_local(settings.local_mode)
    assets = {p.name: p for p in (WIDGET_DIST / "assets").glob("*") if p.is_file()}
    if name not in assets:
        raise NotFoundError(f"Widget asset {name!r} not found")
    path = assets[name]
    return FileResponse(
        path,
        media_type=_MEDIA_TYPES.get(path.suffix, "application/octet-stream"),
        headers={"Cache-Control": "no-cache", "X-Content-Type-Options": "nosniff"},
    )


@router.get("/{session_id}")
def widget_page(session_id: str, settings: SettingsDep) -> FileResponse:
    """The widget page for one session (the session id and token are read by the page itself)."""
    _require_local(settings.local_mode)
    return FileResponse(_dist_file("index.html"), media_type="text/html", headers=_PAGE_HEADERS)
