"""Webhook delivery: one signed POST per queue message, with retries scheduled on the queue.

A message names a delivery and an attempt number. The stage

1. drops messages for attempts already made (SQS delivered twice; the claim makes that safe too),
2. puts back messages that came early (a wait longer than SQS's 15-minute delay is a chain of
   hops) or whose attempt another worker holds right now,
3. claims the attempt, checks the URL again after DNS (SSRF guard), POSTs to the checked address,
4. records the attempt and either finishes the delivery or queues the next attempt.

Outcomes: 2xx delivered; 410 Gone disables the endpoint; 408, 425, 429, 5xx, timeouts and network
errors retry on the schedule (``Retry-After`` may lengthen a wait); any other status (3xx, 4xx)
fails at once. A failed delivery is kept and can be redelivered.
"""

from __future__ import annotations

import logging
import random
import ssl
import time
from dataclasses import dataclass
from typing import Literal
from urllib.parse import urlsplit, urlunsplit

import httpx
from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord

from agentflow import __version__
from agentflow.aws.clients import client
from agentflow.aws.items import AttemptItem, DeliveryItem
from agentflow.errors import ValidationError
from agentflow.ids import now_iso
from agentflow.net import UnresolvableHostError, WebhookTarget, vet_webhook_url
from agentflow.schemas.messages import WebhookJob
from agentflow.services.webhooks import (
    DELIVERED,
    DELIVERING,
    FAILED,
    FINAL_STATUSES,
    MAX_SQS_DELAY_SECONDS,
    PENDING,
    WebhookService,
    create_webhook_service,
    iso_in,
    seconds_until,
)
from agentflow.settings import Settings
from agentflow.stages.common import Stopwatch, context
from agentflow.webhooks import signature_header

log = logging.getLogger(__name__)

RETRYABLE_STATUS = frozenset({408, 425, 429})
EXCERPT_BYTES = 512  # of the receiver's response body, kept in the attempt log
ERROR_CHARS = 500
EARLY_TOLERANCE_SECONDS = 1.0  # SQS delays are whole seconds; a message this early is on time
LEASE_MARGIN_SECONDS = 30.0  # beyond the POST timeout, before another worker may take an attempt over

Outcome = Literal["delivered", "retrying", "failed", "duplicate", "waiting", "busy", "lost", "missing"]


@dataclass(frozen=True)
class HttpResult:
    """What one POST came to.

    Attributes:
        status_code: the response status, or ``None`` when no response arrived.
        latency_ms: from the start of the connection to the end of the (truncated) response.
        error: why no usable response arrived (timeout, connection refused, …), else ``None``.
        excerpt: the first bytes of the response body, decoded leniently.
        retry_after: seconds from a ``Retry-After`` header given in seconds, else ``None``.
    """

    status_code: int | None
    latency_ms: int
    error: str | None = None
    excerpt: str = ""
    retry_after: float | None = None


def _retry_after(value: str | None) -> float | None:
    if value is None or not value.strip().isdigit():
        return None
    return float(value.strip())


def post(
    target: WebhookTarget,
    body: bytes,
    headers: dict[str, str],
    *,
    timeout: float,
    verify: ssl.SSLContext | bool = True,
) -> HttpResult:
    """POST ``body`` to ``target`` at one of its checked addresses, never following redirects.

    The connection goes to the vetted IP address, with ``Host`` and the TLS server name (SNI,
    certificate check) set to the URL's host, so a DNS change after the check cannot redirect it.
    ``verify`` is the TLS trust (the system's CAs by default; tests pass their own CA).
    """
    parts = urlsplit(target.url)
    default_port = 443 if target.scheme == "https" else 80
    host_header = target.host if target.port == default_port else f"{target.host}:{target.port}"
    extensions = {"sni_hostname": target.host} if target.scheme == "https" else {}
    stopwatch = Stopwatch()
    last_error = "no address to connect to"
    for address in target.addresses:
        netloc = f"[{address}]:{target.port}" if ":" in address else f"{address}:{target.port}"
        url = urlunsplit((target.scheme, netloc, parts.path or "/", parts.query, ""))
        try:
            with (
                httpx.Client(timeout=timeout, follow_redirects=False, trust_env=False, verify=verify) as http,
                http.stream(
                    "POST", url, content=body, headers={**headers, "host": host_header}, extensions=extensions
                ) as response,
            ):
                excerpt = b""
                for chunk in response.iter_bytes():
                    excerpt += chunk
                    if len(excerpt) >= EXCERPT_BYTES or stopwatch.seconds > timeout:
                        break
                return HttpResult(
                    status_code=response.status_code,
                    latency_ms=round(stopwatch.seconds * 1000),
                    excerpt=excerpt[:EXCERPT_BYTES].decode("utf-8", "replace"),
                    retry_after=_retry_after(response.headers.get("retry-after")),
                )
        except httpx.ConnectError as exc:
            last_error = f"connection failed: {exc}"  # try the next checked address
        except httpx.TimeoutException as exc:
            return HttpResult(None, round(stopwatch.seconds * 1000), f"timeout: {type(exc).__name__}")
        except httpx.HTTPError as exc:
            return HttpResult(None, round(stopwatch.seconds * 1000), f"{type(exc).__name__}: {exc}")
    return HttpResult(None, round(stopwatch.seconds * 1000), last_error)


def retry_delay(settings: Settings, retry_index: int, *, retry_after: float | None = None) -> float | None:
    """Seconds to wait before retry ``retry_index`` (0-based) of a round, or ``None`` when none is left.

    The scheduled wait is scaled by a random jitter factor; a receiver's ``Retry-After`` can make
    the wait longer, never shorter.
    """
    schedule = settings.webhook_retry_schedule_seconds
    if retry_index >= len(schedule):
        return None
    jitter = settings.webhook_retry_jitter
    delay = schedule[retry_index] * random.uniform(1 - jitter, 1 + jitter)
    if retry_after is not None:
        delay = max(delay, retry_after)
    return max(0.0, delay)


def _attempt_record(
    attempt: int, started_at: str, status: str, result: HttpResult | None, error: str | None
) -> AttemptItem:
    return {
        "attempt": attempt,
        "started_at": started_at,
        "status": status,
        "response_code": result.status_code if result else None,
        "latency_ms": result.latency_ms if result else 0,
        "error": (error or (result.error if result else None) or None),
        "response_excerpt": result.excerpt if result else "",
    }


def deliver(job: WebhookJob, *, service: WebhookService, settings: Settings) -> Outcome:
    """Make (at most) the attempt ``job`` names; return what happened."""
    delivery = service.find_delivery(tenant_id=job.tenant_id, delivery_id=job.delivery_id)
    if delivery is None:
        log.warning("webhook delivery %s not found", job.delivery_id)
        return "missing"
    attempt, done = job.attempt, int(delivery.get("attempt_count", 0))
    status = delivery["status"]
    if status in FINAL_STATUSES or attempt != done + 1:
        if attempt == done and status == PENDING:
            # The worker that recorded this attempt may have died before queueing the next one.
            service.enqueue(delivery, done + 1, delay_seconds=seconds_until(delivery.get("next_attempt_at")))
        return "duplicate"
    if status == DELIVERING:
        busy_for = float(delivery.get("lease_until", 0)) - time.time()
        if busy_for > 0:
            service.enqueue(delivery, attempt, delay_seconds=busy_for + 1)
            return "busy"
    wait = seconds_until(delivery.get("next_attempt_at"))
    if status == PENDING and wait > EARLY_TOLERANCE_SECONDS:
        service.enqueue(delivery, attempt, delay_seconds=min(wait, MAX_SQS_DELAY_SECONDS))
        return "waiting"
    claimed = service.claim(
        delivery, attempt, lease_seconds=settings.webhook_timeout_seconds + LEASE_MARGIN_SECONDS
    )
    if claimed is None:
        return "lost"
    started_at = now_iso()
    try:
        return _attempt(claimed, attempt, started_at, service=service, settings=settings)
    except Exception as exc:
        # Record the attempt (it holds a claim) so that a fault of ours follows the retry schedule
        # and ends, instead of the claim expiring and being retried forever; then fail the record.
        log.exception("webhook %s attempt %d raised", job.delivery_id, attempt)
        error = f"internal error: {type(exc).__name__}"
        _retry_or_fail(claimed, attempt, started_at, HttpResult(None, 0, error), service, settings)
        raise


def _attempt(
    claimed: DeliveryItem, attempt: int, started_at: str, *, service: WebhookService, settings: Settings
) -> Outcome:
    tenant_id, url = claimed["tenant_id"], claimed["url"]
    delivery_id = claimed["delivery_id"]

    def fail(record: AttemptItem, reason: str) -> Outcome:
        log.warning("webhook %s attempt %d failed for good: %s", delivery_id, attempt, reason)
        return "failed" if service.finish(claimed, record, status=FAILED, failure_reason=reason) else "lost"

    if service.endpoint_disabled(tenant_id=tenant_id, url=url):
        reason = "endpoint disabled (it answered 410 Gone); redeliver to enable it again"
        return fail(_attempt_record(attempt, started_at, "skipped", None, reason), reason)

    result: HttpResult | None = None
    try:
        target = vet_webhook_url(url, local_mode=settings.local_mode)
    except UnresolvableHostError as exc:
        result = HttpResult(None, 0, exc.message)
    except ValidationError as exc:
        reason = f"blocked by the SSRF guard: {exc.message}"
        return fail(_attempt_record(attempt, started_at, "blocked", None, reason), reason)
    else:
        body = service.event_body(tenant_id=tenant_id, event_id=claimed["event_id"]).encode()
        timestamp = int(time.time())
        headers = {
            "content-type": "application/json",
            "user-agent": f"AgentFlow-Webhooks/{__version__}",
            "webhook-id": claimed["event_id"],
            "webhook-timestamp": str(timestamp),
            "webhook-signature": signature_header(
                service.signing_secrets(tenant_id), claimed["event_id"], timestamp, body
            ),
        }
        result = post(target, body, headers, timeout=settings.webhook_timeout_seconds)

    code = result.status_code
    log.info(
        "webhook %s attempt %d: %s in %d ms", delivery_id, attempt, code or result.error, result.latency_ms
    )
    if code is not None and 200 <= code < 300:
        record = _attempt_record(attempt, started_at, "succeeded", result, None)
        return "delivered" if service.finish(claimed, record, status=DELIVERED) else "lost"
    if code == 410:
        service.disable_endpoint(tenant_id=tenant_id, url=url, reason=f"410 Gone from delivery {delivery_id}")
        reason = "the endpoint answered 410 Gone and is disabled"
        return fail(_attempt_record(attempt, started_at, "failed", result, f"HTTP {code}"), reason)
    error = result.error or f"HTTP {code}"
    if code is not None and code not in RETRYABLE_STATUS and code < 500:
        return fail(
            _attempt_record(attempt, started_at, "failed", result, error), f"HTTP {code} is not retried"
        )
    return _retry_or_fail(claimed, attempt, started_at, result, service, settings)


def _retry_or_fail(
    claimed: DeliveryItem,
    attempt: int,
    started_at: str,
    result: HttpResult,
    service: WebhookService,
    settings: Settings,
) -> Outcome:
    """Record a failed attempt that may be retried: queue the next one, or fail after the last."""
    error = result.error or f"HTTP {result.status_code}"
    retry_index = attempt - int(claimed.get("round_first_attempt", 1))
    delay = retry_delay(settings, retry_index, retry_after=result.retry_after)
    if delay is None:
        reason = f"gave up after {attempt} attempts; last: {error}"
        log.warning("webhook %s failed for good: %s", claimed["delivery_id"], reason)
        record = _attempt_record(attempt, started_at, "failed", result, error)
        return "failed" if service.finish(claimed, record, status=FAILED, failure_reason=reason) else "lost"
    next_at = iso_in(delay)
    record = _attempt_record(attempt, started_at, "failed", result, error)
    record["next_attempt_at"] = next_at
    if service.finish(claimed, record, status=PENDING, next_attempt_at=next_at) is None:
        return "lost"
    service.enqueue(claimed, attempt + 1, delay_seconds=min(delay, MAX_SQS_DELAY_SECONDS))
    return "retrying"


def handle_record(record: SQSRecord) -> None:
    """Deliver the webhook attempt one queue message names (the webhooks function's record handler)."""
    settings, table = context()
    service = create_webhook_service(
        table,
        client("sqs"),
        queue_url=settings.webhooks_queue_url,
        secret_grace_seconds=settings.webhook_secret_grace_seconds,
    )
    outcome = deliver(WebhookJob.model_validate_json(record.body), service=service, settings=settings)
    log.info("webhook job %s: %s", record.message_id, outcome)
