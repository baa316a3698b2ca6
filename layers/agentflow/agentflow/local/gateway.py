"""A local API Gateway WebSocket API: real sockets on 127.0.0.1, API Gateway's events, the real handler.

Neither ``sam local`` nor LocalStack's free core nor moto runs a WebSocket API, so this does what
API Gateway does, read from ``template.yaml`` as the SQS pollers are:

- the ``AWS::ApiGatewayV2::Api`` (``ProtocolType: WEBSOCKET``), its ``RouteSelectionExpression``
  (``$request.body.<field>``), its routes and their ``AWS_PROXY`` integrations, hence which
  function's ``handler.py`` runs each route (loaded like :func:`agentflow.local.runner.load_handler`);
- each connect, message and disconnect becomes the event API Gateway sends (``requestContext`` with
  ``routeKey``, ``eventType``, ``connectionId``, ``domainName``, ``stage``, ``apiId``, ``connectedAt``,
  ``requestTimeEpoch``, ``messageDirection``, ``identity``; query string and headers on connect;
  ``disconnectStatusCode``/``disconnectReason`` on disconnect), and the handler runs off the event loop;
- a ``$connect`` answering non-2xx refuses the upgrade with that HTTP status;
- the ``@connections`` management API (``POST``/``GET``/``DELETE /{stage}/@connections/{id}``, 410
  ``GoneException`` for a connection that is gone), which handlers reach through boto3 with
  ``endpoint_url`` = :attr:`WebSocketGateway.management_url`;
- the service's limits: a message over 128 KB closes the connection with 1009; an idle connection
  (no message from the client) closes after 10 minutes, any connection after 2 hours (both 1001;
  :class:`GatewayLimits` shortens them for tests).

Not emulated: the 32 KB frame limit (browsers send a message as one frame, so a message over 32 KB
would be refused in AWS: the protocol's own 16 KB cap keeps pages under it), route responses
(this project's routes are one-way), authorizers, and concurrency: API Gateway may run two frames
of one connection at once, here they run in order.
"""

from __future__ import annotations

import asyncio
import base64
import json
import logging
import re
import secrets
import threading
import time
import uuid
from collections import deque
from dataclasses import dataclass, field
from typing import Any

import anyio.to_thread
import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route, WebSocketRoute
from starlette.websockets import WebSocket, WebSocketDisconnect, WebSocketDisconnected

from agentflow.local.ports import free_port
from agentflow.local.runner import Handler, LambdaContext, load_handler
from agentflow.local.template import FunctionSpec, Template

log = logging.getLogger("agentflow.local")

MAX_MESSAGE_BYTES = 128 * 1024  # API Gateway WebSocket: message payload limit
MAX_MANAGEMENT_POST_BYTES = 128 * 1024  # PostToConnection: the same limit outbound
CLOSE_MESSAGE_TOO_BIG = 1009
CLOSE_GOING_AWAY = 1001
CLOSE_NORMAL = 1000


@dataclass(frozen=True)
class GatewayLimits:
    """API Gateway's WebSocket limits (tests shorten the timeouts)."""

    max_message_bytes: int = MAX_MESSAGE_BYTES
    idle_timeout_seconds: float = 600.0  # 10 minutes without a message from the client
    max_connection_seconds: float = 7200.0  # 2 hours, whatever the traffic


@dataclass(frozen=True)
class WebSocketApiSpec:
    """A WebSocket API as the template declares it."""

    logical_id: str
    route_selection_expression: str
    stage: Any  # the Stage resource's StageName, unresolved (a Ref to the Stage parameter, say)
    routes: dict[str, FunctionSpec]  # route key -> the function its integration invokes


def _logical_id_in(value: Any, pattern: str) -> str | None:
    """The first logical id that ``pattern`` (one group) finds in a Sub/Join/Ref/GetAtt expression."""
    if isinstance(value, str):
        match = re.search(pattern, value)
        return match.group(1) if match else None
    if isinstance(value, dict):
        if "Ref" in value:
            return str(value["Ref"])
        if "Fn::GetAtt" in value:
            return str(value["Fn::GetAtt"][0])
        inner = value.get("Fn::Sub", value.get("Fn::Join"))
        return _logical_id_in(inner, pattern)
    if isinstance(value, list):
        for item in value:
            found = _logical_id_in(item, pattern)
            if found:
                return found
    return None


def websocket_apis(template: Template) -> list[WebSocketApiSpec]:
    """Every WebSocket API of the template, with each route's function."""
    by_logical_id = {fn.logical_id: fn for fn in template.functions.values()}
    apis: list[WebSocketApiSpec] = []
    for api_id, api in template.of_type("AWS::ApiGatewayV2::Api").items():
        props = api.get("Properties", {})
        if props.get("ProtocolType") != "WEBSOCKET":
            continue
        routes: dict[str, FunctionSpec] = {}
        for route in template.of_type("AWS::ApiGatewayV2::Route").values():
            rprops = route["Properties"]
            if rprops.get("ApiId") != {"Ref": api_id}:
                continue
            integration_id = _logical_id_in(rprops.get("Target"), r"integrations/\$\{(\w+)\}")
            if integration_id is None:
                continue
            integration = template.resources[integration_id]["Properties"]
            if integration.get("IntegrationType") != "AWS_PROXY":
                raise ValueError(f"route {rprops['RouteKey']}: only AWS_PROXY integrations run locally")
            function_id = _logical_id_in(integration["IntegrationUri"], r"\$\{(\w+)\.Arn\}")
            if function_id is None or function_id not in by_logical_id:
                raise ValueError(
                    f"route {rprops['RouteKey']}: no function in {integration['IntegrationUri']}"
                )
            routes[str(rprops["RouteKey"])] = by_logical_id[function_id]
        stages = [
            s["Properties"]["StageName"]
            for s in template.of_type("AWS::ApiGatewayV2::Stage").values()
            if s["Properties"].get("ApiId") == {"Ref": api_id}
        ]
        apis.append(
            WebSocketApiSpec(
                logical_id=api_id,
                route_selection_expression=str(props.get("RouteSelectionExpression", "$request.body.action")),
                stage=stages[0] if stages else "$default",
                routes=routes,
            )
        )
    return apis


# ---------------------------------------------------------------- API Gateway's event shapes
def new_api_id() -> str:
    """An API id shaped like API Gateway's (10 lower-case letters and digits)."""
    alphabet = "abcdefghijklmnopqrstuvwxyz0123456789"
    return "".join(secrets.choice(alphabet) for _ in range(10))


def new_connection_id() -> str:
    """A connection id shaped like API Gateway's (16 characters ending in ``=``, e.g. ``LLOXxdOBrPEAbBw=``)."""
    return base64.urlsafe_b64encode(secrets.token_bytes(11)).decode()


def _request_id() -> str:
    return base64.urlsafe_b64encode(secrets.token_bytes(11)).decode()


def _request_time(epoch_ms: int) -> str:
    return time.strftime("%d/%b/%Y:%H:%M:%S +0000", time.gmtime(epoch_ms / 1000))


@dataclass
class EventSource:
    """What every event of one connection shares."""

    api_id: str
    stage: str
    domain_name: str
    connection_id: str
    connected_at_ms: int
    source_ip: str
    user_agent: str | None


def _request_context(
    src: EventSource, *, route_key: str, event_type: str, now_ms: int, message_id: str | None
) -> dict[str, Any]:
    request_id = _request_id()
    return {
        "routeKey": route_key,
        "messageId": message_id,
        "eventType": event_type,
        "extendedRequestId": request_id,
        "requestTime": _request_time(now_ms),
        "messageDirection": "IN",
        "stage": src.stage,
        "connectedAt": src.connected_at_ms,
        "requestTimeEpoch": now_ms,
        "identity": {"sourceIp": src.source_ip, "userAgent": src.user_agent},
        "requestId": request_id,
        "domainName": src.domain_name,
        "connectionId": src.connection_id,
        "apiId": src.api_id,
    }


def connect_event(
    src: EventSource, *, headers: list[tuple[str, str]], query: list[tuple[str, str]], now_ms: int
) -> dict[str, Any]:
    """The ``$connect`` event: the upgrade request's headers and query string."""
    multi_headers: dict[str, list[str]] = {}
    for name, value in headers:
        multi_headers.setdefault(name, []).append(value)
    multi_query: dict[str, list[str]] = {}
    for name, value in query:
        multi_query.setdefault(name, []).append(value)
    event: dict[str, Any] = {
        "headers": {k: v[-1] for k, v in multi_headers.items()},
        "multiValueHeaders": multi_headers,
        "requestContext": _request_context(
            src, route_key="$connect", event_type="CONNECT", now_ms=now_ms, message_id=None
        ),
        "isBase64Encoded": False,
    }
    if multi_query:  # API Gateway leaves both keys out when there is no query string
        event["queryStringParameters"] = {k: v[-1] for k, v in multi_query.items()}
        event["multiValueQueryStringParameters"] = multi_query
    return event


def message_event(
    src: EventSource, *, route_key: str, text: str | None, data: bytes | None, now_ms: int
) -> dict[str, Any]:
    """A message event: text frames as ``body``, binary ones base64-encoded."""
    binary = text is None
    return {
        "requestContext": _request_context(
            src, route_key=route_key, event_type="MESSAGE", now_ms=now_ms, message_id=_request_id()
        ),
        "body": base64.b64encode(data or b"").decode() if binary else text,
        "isBase64Encoded": binary,
    }


def disconnect_event(src: EventSource, *, status_code: int, reason: str, now_ms: int) -> dict[str, Any]:
    """The ``$disconnect`` event (API Gateway sends a few fixed headers, not the client's)."""
    headers = {"Host": src.domain_name, "x-api-key": "", "X-Forwarded-For": "", "x-restapi": ""}
    context = _request_context(
        src, route_key="$disconnect", event_type="DISCONNECT", now_ms=now_ms, message_id=None
    )
    context.update({"disconnectStatusCode": status_code, "disconnectReason": reason})
    return {
        "headers": headers,
        "multiValueHeaders": {k: [v] for k, v in headers.items()},
        "requestContext": context,
        "isBase64Encoded": False,
    }


def select_route(expression: str, text: str | None, routes: dict[str, FunctionSpec]) -> str | None:
    """The route a message takes: ``$request.body.<path>`` of its JSON, else ``$default`` (None: no route)."""
    key: Any = None
    if text is not None and expression.startswith("$request.body."):
        try:
            key = json.loads(text)
            for part in expression.removeprefix("$request.body.").split("."):
                key = key.get(part) if isinstance(key, dict) else None
        except ValueError:
            key = None  # not JSON: API Gateway falls back to $default
    if isinstance(key, str) and key in routes and not key.startswith("$"):
        return key
    return "$default" if "$default" in routes else None


def _epoch_ms() -> int:
    return time.time_ns() // 1_000_000


def _iso(epoch_ms: int) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(epoch_ms / 1000)) + f".{epoch_ms % 1000:03d}Z"


# ---------------------------------------------------------------- the server
@dataclass
class _Connection:
    src: EventSource
    websocket: WebSocket
    last_active_ms: int
    close_requested: asyncio.Event = field(default_factory=asyncio.Event)
    send_lock: asyncio.Lock = field(default_factory=asyncio.Lock)
    gone: bool = False


class WebSocketGateway:
    """Serve one WebSocket API of the template on ``ws://127.0.0.1:{port}/{stage}``.

    Args:
        spec: The API, its routes and their functions (:func:`websocket_apis`).
        stage: The resolved stage name.
        api_id: The API's id (``requestContext.apiId``; the stack's ``Ref`` of the API).
        port: 0 picks a free port.
        limits: Message size, idle and lifetime limits.
        handlers: Replace a function's handler by name (tests).
        record_events: Keep the last 1,000 events sent to handlers in :attr:`events`.
    """

    def __init__(
        self,
        spec: WebSocketApiSpec,
        *,
        stage: str,
        api_id: str,
        port: int = 0,
        limits: GatewayLimits | None = None,
        handlers: dict[str, Handler] | None = None,
        record_events: bool = False,
    ) -> None:
        self.spec, self.stage, self.api_id, self.port = spec, stage, api_id, port
        self.limits = limits or GatewayLimits()
        self.events: deque[dict[str, Any]] = deque(maxlen=1000)
        self._record = record_events
        self._connections: dict[str, _Connection] = {}
        # One module per function, like one warm container serving every route it integrates.
        loaded: dict[str, Handler] = {}
        self._handlers: dict[str, Handler] = {}
        for route, fn in spec.routes.items():
            if fn.name not in loaded:
                loaded[fn.name] = (handlers or {}).get(fn.name) or load_handler(fn.handler_path)
            self._handlers[route] = loaded[fn.name]
        self._server: uvicorn.Server | None = None
        self._thread: threading.Thread | None = None

    # ------------------------------------------------------------ URLs and lifecycle
    @property
    def url(self) -> str:
        """What pages connect to (``SIGNALING_URL``)."""
        return f"ws://127.0.0.1:{self.port}/{self.stage}"

    @property
    def management_url(self) -> str:
        """The ``@connections`` endpoint (``SIGNALING_MANAGEMENT_URL``)."""
        return f"http://127.0.0.1:{self.port}/{self.stage}"

    def start(self) -> WebSocketGateway:
        """Serve in a background thread; return once the socket listens."""
        if not self.port:
            self.port = free_port()
        app = Starlette(
            routes=[
                WebSocketRoute(f"/{self.stage}", self._serve_socket),
                Route(
                    f"/{self.stage}/@connections/{{connection_id}}",
                    self._manage,
                    methods=["POST", "GET", "DELETE"],
                ),
            ]
        )
        config = uvicorn.Config(
            app,
            host="127.0.0.1",
            port=self.port,
            ws="websockets-sansio",
            # Larger than the limit, so that the limit is ours to enforce (close 1009, as AWS).
            ws_max_size=4 * self.limits.max_message_bytes,
            ws_ping_interval=None,  # API Gateway does not ping clients; the page's heartbeat is a frame
            log_level="warning",
            access_log=False,
            lifespan="off",
        )
        self._server = uvicorn.Server(config)
        self._thread = threading.Thread(target=self._server.run, name="ws-gateway", daemon=True)
        self._thread.start()
        deadline = time.monotonic() + 10
        while not self._server.started:
            if time.monotonic() > deadline or not self._thread.is_alive():
                raise RuntimeError("the WebSocket gateway did not start within 10 s")
            time.sleep(0.02)
        log.info("WebSocket API %s on %s (%d routes)", self.spec.logical_id, self.url, len(self.spec.routes))
        return self

    def stop(self) -> None:
        """Stop serving (open connections are dropped, as when a stack is deleted)."""
        if self._server is not None:
            self._server.should_exit = True
        if self._thread is not None:
            self._thread.join(timeout=10)

    # ------------------------------------------------------------ invoking the handler
    async def _invoke(self, route: str, event: dict[str, Any]) -> Any:
        fn = self.spec.routes[route]
        if self._record:
            self.events.append(event)
        context = LambdaContext(function_name=fn.name, timeout_seconds=fn.timeout)
        context.aws_request_id = str(uuid.uuid4())
        return await anyio.to_thread.run_sync(self._handlers[route], event, context)

    # ------------------------------------------------------------ sockets
    async def _serve_socket(self, websocket: WebSocket) -> None:
        now = _epoch_ms()
        client = websocket.client
        src = EventSource(
            api_id=self.api_id,
            stage=self.stage,
            domain_name=websocket.headers.get("host", f"127.0.0.1:{self.port}"),
            connection_id=new_connection_id(),
            connected_at_ms=now,
            source_ip=client.host if client else "127.0.0.1",
            user_agent=websocket.headers.get("user-agent"),
        )
        event = connect_event(
            src,
            headers=[(k.decode("latin-1"), v.decode("latin-1")) for k, v in websocket.scope["headers"]],
            query=list(websocket.query_params.multi_items()),
            now_ms=now,
        )
        if "$connect" in self.spec.routes:
            try:
                result = await self._invoke("$connect", event)
            except Exception:  # a crashed $connect refuses the upgrade, as API Gateway's 500 does
                log.exception("$connect handler failed")
                result = {"statusCode": 500}
            status = int(result.get("statusCode", 200)) if isinstance(result, dict) else 200
            if not 200 <= status < 300:
                body = str(result.get("body") or "") if isinstance(result, dict) else ""
                await websocket.send_denial_response(Response(body, status_code=status))
                return
        await websocket.accept()
        conn = _Connection(src=src, websocket=websocket, last_active_ms=now)
        self._connections[src.connection_id] = conn
        try:
            code, reason = await self._receive_loop(conn)
        finally:
            conn.gone = True
            self._connections.pop(src.connection_id, None)
        if "$disconnect" in self.spec.routes:
            try:
                await self._invoke(
                    "$disconnect", disconnect_event(src, status_code=code, reason=reason, now_ms=_epoch_ms())
                )
            except Exception:  # nobody to tell: API Gateway only logs a failed $disconnect too
                log.exception("$disconnect handler failed")

    async def _close(self, conn: _Connection, code: int, reason: str) -> tuple[int, str]:
        conn.gone = True
        async with conn.send_lock:
            await conn.websocket.close(code=code, reason=reason)
        return code, reason

    async def _receive_loop(self, conn: _Connection) -> tuple[int, str]:
        """Serve one connection's messages; return the close code and reason for ``$disconnect``."""
        receiving: asyncio.Future[Any] | None = None
        try:
            while True:
                now = _epoch_ms()
                idle_left = conn.last_active_ms + self.limits.idle_timeout_seconds * 1000 - now
                life_left = conn.src.connected_at_ms + self.limits.max_connection_seconds * 1000 - now
                if life_left <= 0:
                    return await self._close(conn, CLOSE_GOING_AWAY, "Connection duration limit reached")
                if idle_left <= 0:
                    return await self._close(conn, CLOSE_GOING_AWAY, "Idle timeout")
                if conn.close_requested.is_set():
                    return await self._close(conn, CLOSE_NORMAL, "Closed by DeleteConnection")
                if receiving is None:
                    receiving = asyncio.ensure_future(conn.websocket.receive())
                closing = asyncio.ensure_future(conn.close_requested.wait())
                done, _ = await asyncio.wait(
                    {receiving, closing},
                    timeout=min(idle_left, life_left) / 1000,
                    return_when=asyncio.FIRST_COMPLETED,
                )
                closing.cancel()
                if receiving not in done:
                    continue  # a deadline or a DeleteConnection: checked at the top
                message = receiving.result()
                receiving = None
                if message["type"] == "websocket.disconnect":
                    conn.gone = True
                    return int(message.get("code") or 1005), str(message.get("reason") or "")
                text, data = message.get("text"), message.get("bytes")
                size = len(text.encode()) if text is not None else len(data or b"")
                if size > self.limits.max_message_bytes:
                    return await self._close(conn, CLOSE_MESSAGE_TOO_BIG, "Message too big")
                conn.last_active_ms = _epoch_ms()
                await self._message(conn, text, data)
        finally:
            if receiving is not None:
                receiving.cancel()

    async def _message(self, conn: _Connection, text: str | None, data: bytes | None) -> None:
        route = select_route(self.spec.route_selection_expression, text, self.spec.routes)
        request_id = _request_id()
        if route is None:
            await self._push(
                conn,
                json.dumps(
                    {"message": "Forbidden", "connectionId": conn.src.connection_id, "requestId": request_id}
                ).encode(),
            )
            return
        event = message_event(conn.src, route_key=route, text=text, data=data, now_ms=_epoch_ms())
        try:
            await self._invoke(route, event)
        except Exception:  # API Gateway tells the sender, and keeps the connection open
            log.exception("%s handler failed", route)
            await self._push(
                conn,
                json.dumps(
                    {
                        "message": "Internal server error",
                        "connectionId": conn.src.connection_id,
                        "requestId": request_id,
                    }
                ).encode(),
            )

    async def _push(self, conn: _Connection, data: bytes) -> bool:
        """Send ``data`` (a text frame when it is UTF-8); False when the connection is gone.

        A client may close between the check and the send (a page reloading while its peer's frame
        is relayed): that post is API Gateway's 410 GoneException too, not a server error.
        """
        async with conn.send_lock:
            if conn.gone:
                return False
            try:
                try:
                    await conn.websocket.send_text(data.decode())
                except UnicodeDecodeError:
                    await conn.websocket.send_bytes(data)
            except (WebSocketDisconnect, WebSocketDisconnected):
                conn.gone = True
                return False
            return True

    # ------------------------------------------------------------ @connections
    async def _manage(self, request: Request) -> Response:
        connection_id = request.path_params["connection_id"]
        conn = self._connections.get(connection_id)
        if conn is None or conn.gone:
            return JSONResponse(
                {"message": None}, status_code=410, headers={"x-amzn-ErrorType": "GoneException"}
            )
        if request.method == "GET":
            return JSONResponse(
                {
                    "connectedAt": _iso(conn.src.connected_at_ms),
                    "identity": {"sourceIp": conn.src.source_ip, "userAgent": conn.src.user_agent or ""},
                    "lastActiveAt": _iso(conn.last_active_ms),
                }
            )
        if request.method == "DELETE":
            conn.gone = True  # from now on a post answers 410, as after API Gateway's DeleteConnection
            conn.close_requested.set()
            return Response(status_code=204)
        data = await request.body()
        if len(data) > MAX_MANAGEMENT_POST_BYTES:
            return JSONResponse(
                {"message": "Message too long"},
                status_code=413,
                headers={"x-amzn-ErrorType": "PayloadTooLargeException"},
            )
        if not await self._push(conn, data):
            return JSONResponse(
                {"message": None}, status_code=410, headers={"x-amzn-ErrorType": "GoneException"}
            )
        return Response(status_code=200)
