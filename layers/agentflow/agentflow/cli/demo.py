"""``agentflow demo``: a recording in, a verified signed summary and PDF out, on the local stack.

It does what an integrator and a browser would: create a tenant and a session, upload through the
presigned POST, follow the pipeline, fetch the summary, signature, JWKS and PDF, and verify the
signature offline.

A person sees a progress line and the result; the stack's log lines (JSON from the handlers, and
whatever libraries print) go to ``demo.log`` in the output folder, and to the terminal too with
``--verbose``. A recording longer than ``CHUNK_SECONDS`` (``--chunk-seconds``) is cut into chunk
jobs (issue 19): the progress line counts each analysis stage's done chunks, and ``--json`` has the
recording's per-stage ``progress`` as last seen.
"""

from __future__ import annotations

import argparse
import functools
import json
import sys
import time
from collections.abc import Callable
from contextlib import ExitStack
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

import httpx

from agentflow.cli.output import logs_to_file
from agentflow.cli.stack import connect
from agentflow.local.client import ApiClient, ApiError

if TYPE_CHECKING:
    from agentflow.local.runner import Handler

LOG_NAME = "demo.log"
# The settings' floor for CHUNK_SECONDS (agentflow.settings): refused here, before anything starts.
MIN_CHUNK_SECONDS = 5.0
STAGE_ORDER = ("transcribe", "diarize", "summarize")

FORMATS = {
    ".wav": "audio/wav",
    ".flac": "audio/flac",
    ".mp3": "audio/mpeg",
    ".m4a": "audio/mp4",
    ".ogg": "audio/ogg",
    ".opus": "audio/ogg",
    ".webm": "video/webm",
    ".mp4": "video/mp4",
    ".mov": "video/quicktime",
}


class DemoError(RuntimeError):
    """A step of the demo failed; the message says which and why."""


def default_recording() -> Path:
    """The two-speaker sample that ships inside the pyannote.audio package."""
    import importlib.util

    spec = importlib.util.find_spec("pyannote.audio")
    if spec is None or not spec.submodule_search_locations:
        raise DemoError("pyannote.audio is not installed; give a recording path")
    return Path(next(iter(spec.submodule_search_locations))) / "sample" / "sample.wav"


def check_recording(path: Path) -> str:
    """Refuse a missing, unsupported or undecodable file before anything starts; return its type."""
    from agentflow.speech.audio import AudioDecodeError, probe

    if not path.is_file():
        raise DemoError(f"recording not found: {path}")
    content_type = FORMATS.get(path.suffix.lower())
    if content_type is None:
        known = ", ".join(sorted(FORMATS))
        raise DemoError(f"unsupported format {path.suffix or '(none)'!r} for {path.name}; use one of {known}")
    try:
        info = probe(path)
    except AudioDecodeError as exc:
        raise DemoError(f"{path.name} has no usable audio: {exc}") from exc
    if info.duration <= 0:
        raise DemoError(f"{path.name} contains no audio")
    return content_type


def stage_progress(recording: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """Each stage's ``status``, ``seconds`` and ``chunks`` (``{total, done}``; ``None`` for summarize),
    in pipeline order, from ``GET /v1/recordings/{id}``."""
    stages: dict[str, Any] = recording.get("stages") or {}

    def rank(name: str) -> tuple[int, str]:
        return (STAGE_ORDER.index(name) if name in STAGE_ORDER else len(STAGE_ORDER), name)

    return {
        name: {
            "status": stages[name].get("status"),
            "seconds": stages[name].get("seconds"),
            "chunks": stages[name].get("chunks"),
        }
        for name in sorted(stages, key=rank)
    }


def _chunk_count(info: dict[str, Any]) -> str:
    """`` 3/12`` for a stage cut into chunks; nothing for one that is not."""
    chunks = info.get("chunks") or {}
    return f" {chunks['done']}/{chunks['total']}" if int(chunks.get("total") or 0) > 1 else ""


def stage_line(progress: dict[str, dict[str, Any]]) -> str:
    """The progress line's stages, e.g. ``transcribe running 3/12, diarize queued 0/12``."""
    parts = [
        f"{name} {str(info.get('status') or '?').lower()}{_chunk_count(info)}"
        for name, info in progress.items()
    ]
    return ", ".join(parts) or "waiting for ingest"


def _follow(
    client: ApiClient,
    recording_id: str,
    *,
    show: Callable[[str], None],
    timeout: float,
    seen: dict[str, Any],
) -> dict[str, Any]:
    """Poll the recording, showing its status, stages and the elapsed time; keep its progress in ``seen``."""
    started = time.monotonic()

    def on_poll(current: dict[str, Any]) -> None:
        seen["progress"] = stage_progress(current)
        line = stage_line(seen["progress"])
        show(f"[bold]{current['status']}[/] · {line} · {time.monotonic() - started:.0f} s")

    return client.wait(recording_id, timeout=timeout, on_poll=on_poll)


def run_demo(
    *,
    recording: str | None,
    out: Path,
    as_json: bool,
    verbose: bool = False,
    timeout: float = 900,
    host: str = "Host",
    client: str = "Client",
    chunk_seconds: float | None = None,
    isolation: Literal["thread", "process"] = "thread",
    handlers: dict[str, Handler] | None = None,
) -> int:
    """Run the whole path; return the exit code (0 when the signature verifies).

    stdout holds only the report (with ``as_json``, exactly one JSON object); the log is
    ``out/demo.log``.

    Args:
        chunk_seconds: ``CHUNK_SECONDS`` for the functions: recordings longer than this are cut
            into chunk jobs. The demo then starts a stack of its own, even when ``agentflow up``
            runs (that one's functions keep their own settings).
        isolation: where the functions run (``RunnerOptions.isolation``): ``"process"`` gives each
            its own sandbox process, as Lambda does; it starts a stack of the demo's own.
        handlers: replace functions' handlers on the demo's own stack (``LocalStack.handlers``:
            tests run fixed computes this way).
    """
    log = out / LOG_NAME
    seen: dict[str, Any] = {}  # the recording's progress as last polled, for a failure's report too
    try:
        path = Path(recording) if recording else default_recording()
        content_type = check_recording(path)  # before anything is started or written
        if chunk_seconds is not None and not chunk_seconds >= MIN_CHUNK_SECONDS:
            raise DemoError(f"--chunk-seconds must be at least {MIN_CHUNK_SECONDS:g} (got {chunk_seconds:g})")
        environment = {"CHUNK_SECONDS": f"{chunk_seconds:g}"} if chunk_seconds is not None else {}
        run = functools.partial(
            _run,
            path,
            content_type,
            out=out,
            timeout=timeout,
            names=(host, client),
            environment=environment,
            isolation=isolation,
            handlers=handlers or {},
            seen=seen,
        )
        with logs_to_file(log, verbose=verbose) as terminal:
            if as_json:
                result = run(show=lambda _: None)
            else:
                from rich.console import Console

                with Console(file=terminal).status("starting the local stack…") as status:
                    result = run(show=status.update)
    except (DemoError, ApiError, TimeoutError, httpx.HTTPError) as exc:
        where = f" (log: {log})" if log.exists() else ""
        if as_json:
            failed: dict[str, Any] = {"ok": False, "error": str(exc)}
            if "progress" in seen:
                failed["progress"] = seen["progress"]
            sys.stdout.write(json.dumps(failed) + "\n")
        else:
            sys.stderr.write(f"demo failed: {exc}{where}\n")
        return 1
    result["files"]["log"] = str(log)
    if as_json:
        sys.stdout.write(json.dumps(result, indent=2, ensure_ascii=False) + "\n")
    else:
        print_report(result)
    return 0 if result["verified"] else 1


def _run(
    path: Path,
    content_type: str,
    *,
    out: Path,
    show: Callable[[str], None],
    timeout: float,
    names: tuple[str, str] = ("Host", "Client"),
    environment: dict[str, str] | None = None,
    isolation: Literal["thread", "process"] = "thread",
    handlers: dict[str, Handler] | None = None,
    seen: dict[str, Any] | None = None,
) -> dict[str, Any]:
    from agentflow.aws.clients import table
    from agentflow.crypto.canonical import canonicalize
    from agentflow.crypto.jwks import KeySet
    from agentflow.crypto.verify import verify_summary
    from agentflow.local.runner import RunnerOptions
    from agentflow.local.stack import LocalStack
    from agentflow.reports.transcript import to_srt, to_vtt
    from agentflow.services.tenants import create_tenant_service
    from agentflow.settings import get_settings

    timings: dict[str, float] = {}
    clock = time.monotonic()
    seen = {} if seen is None else seen
    with ExitStack() as stack_scope:
        # A running `agentflow up` serves unless the demo sets the functions' environment, handlers
        # or isolation.
        own = bool(environment or handlers) or isolation != "thread"
        running = None if own else connect(prefer_running=True)
        if running:
            api_url = str(running["api_url"])
        else:
            stack = stack_scope.enter_context(
                LocalStack(
                    environment=environment or {},
                    handlers=handlers or {},
                    options=RunnerOptions(isolation=isolation),
                )
            )
            api_url = stack.api_url
        timings["stack_start"] = time.monotonic() - clock
        tenant = create_tenant_service(table(get_settings().table_name)).create_tenant("demo")
        show("creating a tenant and a session…")
        client = ApiClient(api_url=api_url, api_key=tenant.api_key)
        session = client.create_session(host={"name": names[0]}, client={"name": names[1]})
        sid = session["session_id"]
        upload_started = time.monotonic()
        show(f"uploading {path.name}…")
        recording_id = client.upload(sid, path, filename=path.name, content_type=content_type)
        final = _follow(client, recording_id, show=show, timeout=timeout, seen=seen)
        timings["upload_to_signed_summary"] = time.monotonic() - upload_started
        if final["status"] != "COMPLETED":
            raise DemoError(
                f"the pipeline failed in {final.get('failed_stage')}: {final.get('failure_reason')}"
            )
        show("fetching the signed summary, the JWKS and the PDF…")
        signed = client.expect(200, "GET", f"/v1/sessions/{sid}/summary")
        jwks = client.expect(200, "GET", "/.well-known/jwks.json")
        pdf = httpx.get(signed["pdf_url"], timeout=60)
        pdf.raise_for_status()

    out.mkdir(parents=True, exist_ok=True)
    files = {
        "summary": out / "summary.json",
        "signature": out / "signature.json",
        "jwks": out / "jwks.json",
        "pdf": out / "report.pdf",
        "vtt": out / "transcript.vtt",
        "srt": out / "transcript.srt",
    }
    # summary.json is written as its RFC 8785 bytes: what the document hash covers (openssl can check it).
    files["summary"].write_bytes(canonicalize(signed["summary"]))
    files["signature"].write_text(json.dumps(signed["signature"], indent=2))
    files["jwks"].write_text(json.dumps(jwks, indent=2))
    files["pdf"].write_bytes(pdf.content)
    # The same rendering as GET /v1/sessions/{id}/transcript, from the signed summary's utterances.
    files["vtt"].write_text(to_vtt(signed["summary"]["transcript"]), encoding="utf-8")
    files["srt"].write_text(to_srt(signed["summary"]["transcript"]), encoding="utf-8")
    # Offline: only the files just written, no AWS and no network.
    check = verify_summary(
        summary=json.loads(files["summary"].read_text()),
        signature=json.loads(files["signature"].read_text()),
        keys=KeySet.from_jwks(json.loads(files["jwks"].read_text())),
        pdf=files["pdf"].read_bytes(),
    )
    stages = {
        name: float(info["seconds"])
        for name, info in (final.get("stages") or {}).items()
        if info.get("seconds") is not None
    }
    return {
        "ok": check.valid,
        "verified": check.valid,
        "reasons": list(check.reasons),
        "recording": str(path),
        "tenant_id": tenant.tenant_id,
        "session_id": sid,
        "recording_id": recording_id,
        "summary_id": signed["summary_id"],
        "signature_id": signed["signature"]["signature_id"],
        "summary": signed["summary"],
        "signature": signed["signature"],
        "files": {k: str(v) for k, v in files.items()},
        "timings": {**timings, "stages": stages},
        "progress": seen["progress"],
        "duration_seconds": final.get("duration_seconds"),
    }


def print_report(result: dict[str, Any]) -> None:
    """The human-readable summary."""
    from rich.console import Console
    from rich.table import Table

    console = Console()
    summary = result["summary"]
    console.rule(f"[bold]{summary.get('title', 'Summary')}")
    console.print(summary.get("overview", ""))
    for heading, key in (
        ("Key points", "key_points"),
        ("Decisions", "decisions"),
        ("Open questions", "open_questions"),
    ):
        items = summary.get(key) or []
        if items:
            console.print(f"\n[bold]{heading}[/]")
            for item in items:
                console.print(f"  • {item['text'] if isinstance(item, dict) else item}")
    actions = summary.get("action_items") or []
    if actions:
        table = Table("Owner", "Action", "Due", title="Action items", title_justify="left")
        for item in actions:
            table.add_row(item.get("owner") or "—", item["text"], item.get("due") or "—")
        console.print(table)
    speakers = summary.get("speakers") or []
    if speakers:
        console.print("\n[bold]Speakers[/]")
        for speaker in speakers:
            talk = speaker.get("talk_time_seconds", speaker.get("talk_time", 0)) or 0
            console.print(f"  {speaker['name']}: {float(talk):.1f} s")
    mark = (
        "[green]verified[/]"
        if result["verified"]
        else f"[red]NOT verified[/]: {'; '.join(result['reasons'])}"
    )
    console.print(f"\nSignature {result['signature_id']} (RS256, KMS): {mark} offline against jwks.json")
    seconds = result["timings"]["upload_to_signed_summary"]
    progress = result.get("progress") or {}

    def timed(name: str, stage_seconds: float) -> str:
        chunks = (progress.get(name) or {}).get("chunks") or {}
        cut = f" ({chunks['total']} chunks)" if int(chunks.get("total") or 0) > 1 else ""
        return f"{name} {stage_seconds:.1f} s{cut}"

    console.print(
        f"Upload to signed summary: {seconds:.1f} s  ·  stages: "
        + ", ".join(timed(k, v) for k, v in result["timings"]["stages"].items())
    )
    for name, path in result["files"].items():
        console.print(f"  {name:<9} {path}")


def cmd_demo(args: argparse.Namespace) -> int:
    """A recording in, a signed summary and PDF out, on the local stack."""
    return run_demo(
        recording=args.recording,
        out=Path(args.out),
        as_json=args.json,
        verbose=args.verbose,
        host=args.host,
        client=args.client,
        chunk_seconds=args.chunk_seconds,
        isolation=args.isolation,
    )


def register(sub: Any) -> None:
    """Add ``demo`` to the ``agentflow`` parser's subparsers."""
    demo = sub.add_parser("demo", help="run a recording through the whole pipeline")
    demo.add_argument(
        "recording", nargs="?", default=None, help="audio/video file (default: a shipped sample)"
    )
    demo.add_argument(
        "--out", default="out/demo", help=f"where to write summary, signature, JWKS, PDF and {LOG_NAME}"
    )
    demo.add_argument("--json", action="store_true", help="print one JSON object")
    demo.add_argument("--verbose", action="store_true", help="show the stack's log lines too")
    demo.add_argument("--host", default="Host", help="the host's name (speakers are named after it)")
    demo.add_argument("--client", default="Client", help="the client's name")
    demo.add_argument(
        "--chunk-seconds",
        type=float,
        default=None,
        metavar="SECONDS",
        help=f"cut recordings longer than this into chunk jobs (CHUNK_SECONDS, at least "
        f"{MIN_CHUNK_SECONDS:g}; default: the setting's 600); starts a stack of the demo's own",
    )
    demo.add_argument(
        "--isolation",
        choices=["thread", "process"],
        default="thread",
        help="run the functions in threads of the demo (default) or each in a sandbox process of its own, "
        "as Lambda does; process starts a stack of the demo's own",
    )
    demo.set_defaults(func=cmd_demo)
