"""The AuthZEN 1.0 PDP as an ASGI application (Starlette): a thin shell over the engine.

Endpoints (AuthZEN 1.0, "Transport" and "Policy Decision Point Metadata"):

* ``POST /access/v1/evaluation``, ``POST /access/v1/evaluations``: decisions. A deny is
  ``200 {"decision": false}``; a body that is not a JSON object, or a request without
  ``subject``/``action``/``resource``, is ``400``; a missing or wrong API key ``401``; a body
  over the limit ``413``. Unknown fields are ignored (the engine ignores them).
* ``GET /.well-known/authzen-configuration``: the PDP metadata, naming only endpoints served.
* ``GET /healthz`` (alive), ``GET /readyz`` (a revision is served; a refused newer one is
  shown).

Every response carries ``X-Request-ID`` (the client's, echoed, else a new one) and every
decision response ``ZTAuth-Revision`` (the revision it was decided on). How much ``context``
a decision carries is opt-in (``?context=reasons|trace`` or the server's default): AuthZEN
clients that compare bare decisions get ``{"decision": true}`` exactly.

The engine is synchronous and pure: each call runs in the threadpool, off the event loop, on
the snapshot read once when the request arrives (a reload never splits a request).
"""

from __future__ import annotations

import asyncio
import hmac
import logging
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any

from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from ztauth_cli.engine.response import ContextLevel, authzen_response, request_id_of
from ztauth_cli.errors import DocumentError, RequestError
from ztauth_cli.ledger.yaml import parse_json

if TYPE_CHECKING:
    from ztauth_cli.model import Decision
    from ztauth_cli.server.audit import AuditWriter
    from ztauth_cli.server.ledger import Follower, LedgerState, Snapshot

__all__ = [
    "EVALUATIONS_PATH",
    "EVALUATION_PATH",
    "AppSettings",
    "create_app",
]

EVALUATION_PATH = "/access/v1/evaluation"
EVALUATIONS_PATH = "/access/v1/evaluations"
METADATA_PATH = "/.well-known/authzen-configuration"
# The AuthZEN metadata parameter naming each access endpoint this server can register.
_METADATA_NAMES = {
    EVALUATION_PATH: "access_evaluation_endpoint",
    EVALUATIONS_PATH: "access_evaluations_endpoint",
    "/access/v1/search/subject": "search_subject_endpoint",
    "/access/v1/search/resource": "search_resource_endpoint",
    "/access/v1/search/action": "search_action_endpoint",
}
_REQUIRED = ("subject", "action", "resource")
# X-Request-ID values longer than this, or with control characters, are replaced (log safety).
_MAX_REQUEST_ID = 200

# Where a handler leaves its decisions for the access log (in the ASGI scope).
_DECISIONS = "ztauth.decisions"

_LOG = logging.getLogger("ztauth.serve")
_ACCESS = logging.getLogger("ztauth.serve.access")

# A search endpoint: (snapshot served, request body, *, now) -> response body. It raises
# RequestError for a malformed search request (400).
SearchFunction = Callable[..., Mapping[str, Any]]


@dataclass(frozen=True, slots=True, kw_only=True)
class AppSettings:
    """How the PDP answers: authentication, default context, body limit."""

    # The API key every access endpoint requires (None: no authentication). Never logged.
    api_key: str | None = field(default=None, repr=False)
    context: ContextLevel = ContextLevel.NONE
    max_body_bytes: int = 1024 * 1024


class _BadRequest(Exception):
    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message


def _error(
    status: int, code: str, message: str, headers: Mapping[str, str] | None = None
) -> Response:
    return JSONResponse({"error": code, "message": message}, status_code=status, headers=headers)


def _unauthorized() -> Response:
    return _error(
        401,
        "unauthorized",
        "missing or wrong API key in the Authorization header",
        {"WWW-Authenticate": 'Bearer realm="ztauth"'},
    )


def _authorized(request: Request, key: str | None) -> bool:
    if key is None:
        return True
    given = request.headers.get("authorization")
    if given is None:
        return False
    # Constant-time comparison, both accepted spellings compared every time (AuthZEN's
    # interop harness sends the bare key; OAuth-style clients send "Bearer <key>").
    raw = given.encode("utf-8", "surrogateescape")
    expected = key.encode("utf-8")
    bare = hmac.compare_digest(raw, expected)
    bearer = hmac.compare_digest(raw, b"Bearer " + expected)
    return bare | bearer


def _request_id(request: Request) -> str:
    given = request.headers.get("x-request-id")
    if given and len(given) <= _MAX_REQUEST_ID and given.isprintable():
        return given
    return uuid.uuid4().hex


async def _read_json(request: Request, limit: int) -> Any:
    length = request.headers.get("content-length")
    if length is not None and length.isdigit() and int(length) > limit:
        raise _BadRequest(413, "payload_too_large", f"the request body is over {limit} bytes")
    body = bytearray()
    async for chunk in request.stream():
        body += chunk
        if len(body) > limit:
            raise _BadRequest(413, "payload_too_large", f"the request body is over {limit} bytes")
    try:
        # RFC 8259: JSON between systems is UTF-8 (json.loads would also guess UTF-16/32).
        text = bytes(body).decode("utf-8")
    except UnicodeDecodeError:
        raise _BadRequest(400, "bad_request", "the request body is not UTF-8") from None
    try:
        # The JSON reader of `ztauth eval`: the same body decides the same over HTTP as in a
        # request file or a stream (duplicate keys, NaN, huge numbers, depth all refused).
        return parse_json(text, "<body>")
    except DocumentError as exc:
        where = f"line {exc.span.line} column {exc.span.column}" if exc.span else "body"
        raise _BadRequest(400, "bad_request", f"{where}: {exc.message}") from None


def _missing(item: Any) -> str | None:
    """Why ``item`` is not an AuthZEN evaluation (a required field absent), or None."""
    if not isinstance(item, Mapping):
        return "an evaluation must be a JSON object"
    absent = [name for name in _REQUIRED if not isinstance(item.get(name), Mapping)]
    if absent:
        return f"missing or not an object: {', '.join(absent)}"
    return None


def _level(request: Request, default: ContextLevel) -> ContextLevel:
    text = request.query_params.get("context")
    if text is None:
        return default
    try:
        return ContextLevel(text)
    except ValueError:
        choices = ", ".join(level.value for level in ContextLevel)
        raise _BadRequest(
            400, "bad_request", f"?context={text!r}: expected one of {choices}"
        ) from None


def _items_of(body: Mapping[str, Any]) -> list[Any]:
    from ztauth_cli.engine.request import RequestProblem, expand_evaluations

    try:
        return expand_evaluations(body)[0]
    except RequestProblem:
        return [body]


class _Pdp:
    """The request handlers, bound to one server's state, settings and audit writer."""

    def __init__(
        self,
        state: LedgerState,
        settings: AppSettings,
        *,
        audit: AuditWriter | None,
        clock: Callable[[], datetime],
    ) -> None:
        self.state = state
        self.settings = settings
        self.audit = audit
        self.clock = clock
        self.paths: list[str] = []

    # ------------------------------------------------------------------------ decisions

    async def evaluation(self, request: Request) -> Response:
        return await self._decide(request, batch_endpoint=False)

    async def evaluations(self, request: Request) -> Response:
        return await self._decide(request, batch_endpoint=True)

    async def _decide(self, request: Request, *, batch_endpoint: bool) -> Response:
        if not _authorized(request, self.settings.api_key):
            return _unauthorized()
        try:
            level = _level(request, self.settings.context)
            body = await _read_json(request, self.settings.max_body_bytes)
            if not isinstance(body, Mapping):
                raise _BadRequest(400, "bad_request", "the request body must be a JSON object")
            if batch_endpoint:
                if "evaluations" in body and not isinstance(body["evaluations"], list):
                    raise _BadRequest(400, "bad_request", "evaluations must be an array")
                problems = [_missing(item) for item in _items_of(body)]
                single = "evaluations" not in body or not body["evaluations"]
                if single and problems[0] is not None:
                    raise _BadRequest(400, "bad_request", problems[0])
            else:
                problem = _missing(body)
                if problem is not None:
                    raise _BadRequest(400, "bad_request", problem)
                problems = [None]
        except _BadRequest as exc:
            return _error(exc.status, exc.code, exc.message)
        snapshot = self.state.snapshot
        if snapshot is None:
            return _error(503, "not_ready", "no ledger revision is being served yet")
        now = self.clock()
        decisions, batch = await run_in_threadpool(
            _evaluate, snapshot, body, batch_endpoint=batch_endpoint, now=now
        )
        ids = [uuid.uuid4().hex for _ in decisions]
        if self.audit is not None:
            failed = await self._audit(body, decisions, ids, batch=batch, now=now)
            if failed is not None:
                return failed
        response = authzen_response(
            decisions, batch=batch, ids=ids, request_id=request_id_of(body), level=level
        )
        if batch:
            for item, problem in zip(response["evaluations"], problems, strict=False):
                if problem is not None:
                    # AuthZEN 1.0 "Errors": an evaluation's own error is in its context.
                    item.setdefault("context", {})["error"] = {"status": 400, "message": problem}
        headers = {"ZTAuth-Revision": snapshot.revision_label}
        if snapshot.version is not None:
            headers["ZTAuth-Version"] = snapshot.version
        if not batch:
            headers["ZTAuth-Decision-Id"] = ids[0]
        request.scope[_DECISIONS] = decisions
        return JSONResponse(response, headers=headers)

    async def _audit(
        self,
        body: Mapping[str, Any],
        decisions: Sequence[Decision],
        ids: Sequence[str],
        *,
        batch: bool,
        now: datetime,
    ) -> Response | None:
        from ztauth_cli.audit import entry_from_decision

        assert self.audit is not None  # noqa: S101 - checked by the caller
        requests = _items_of(body) if batch else [body]
        entries = [
            entry_from_decision(
                d, r if isinstance(r, Mapping) else {"invalid": r}, now=now, decision_id=i
            )
            for d, r, i in zip(decisions, requests, ids, strict=False)
        ]
        try:
            await asyncio.wrap_future(self.audit.submit(entries))
        except Exception:
            # Fail closed: a decision that cannot be logged is not returned.
            return _error(500, "audit_failed", "the decision could not be written to the audit log")
        return None

    # ------------------------------------------------------------------------ metadata

    async def metadata(self, request: Request) -> Response:
        base = str(request.base_url).rstrip("/")
        document: dict[str, Any] = {"policy_decision_point": base}
        for path in self.paths:
            name = _METADATA_NAMES.get(path)
            if name is not None:
                document[name] = base + path
        return JSONResponse(document)

    async def healthz(self, request: Request) -> Response:
        return JSONResponse({"status": "ok"})

    async def readyz(self, request: Request) -> Response:
        ready, body = self.state.readiness()
        return JSONResponse(body, status_code=200 if ready else 503)


def _evaluate(
    snapshot: Snapshot, body: Mapping[str, Any], *, batch_endpoint: bool, now: datetime
) -> tuple[tuple[Decision, ...], bool]:
    evaluator = snapshot.evaluator
    if batch_endpoint:
        return evaluator.evaluate_batch(body, now=now)
    # The single-evaluation endpoint decides the request itself; an `evaluations` array
    # there is one more unknown field.
    return (evaluator.evaluate(body, now=now),), False


def _search_route(path: str, function: SearchFunction, pdp: _Pdp) -> Route:
    async def search(request: Request) -> Response:
        if not _authorized(request, pdp.settings.api_key):
            return _unauthorized()
        try:
            body = await _read_json(request, pdp.settings.max_body_bytes)
        except _BadRequest as exc:
            return _error(exc.status, exc.code, exc.message)
        if not isinstance(body, Mapping):
            return _error(400, "bad_request", "the request body must be a JSON object")
        snapshot = pdp.state.snapshot
        if snapshot is None:
            return _error(503, "not_ready", "no ledger revision is being served yet")
        try:
            result = await run_in_threadpool(function, snapshot, body, now=pdp.clock())
        except RequestError as exc:
            return _error(400, "bad_request", exc.message)
        return JSONResponse(dict(result), headers={"ZTAuth-Revision": snapshot.revision_label})

    return Route(path, search, methods=["POST"])


def create_app(
    state: LedgerState,
    settings: AppSettings,
    *,
    clock: Callable[[], datetime],
    audit: AuditWriter | None = None,
    follower: Follower | None = None,
    search: Mapping[str, SearchFunction] | None = None,
) -> Starlette:
    """The PDP application over ``state``.

    ``clock`` gives the time of each decision; ``audit`` (started and closed with the app)
    receives every decision; ``follower`` (started and stopped with the app) swaps revisions
    into ``state``; ``search`` maps a search endpoint path (``/access/v1/search/subject``...)
    to its function ``(evaluator, body, *, now) -> body``, listed in the metadata once given.
    """
    pdp = _Pdp(state, settings, audit=audit, clock=clock)
    routes = [
        Route(EVALUATION_PATH, pdp.evaluation, methods=["POST"]),
        Route(EVALUATIONS_PATH, pdp.evaluations, methods=["POST"]),
    ]
    routes += [_search_route(path, fn, pdp) for path, fn in sorted((search or {}).items())]
    pdp.paths = [route.path for route in routes]
    routes += [
        Route(METADATA_PATH, pdp.metadata, methods=["GET"]),
        Route("/healthz", pdp.healthz, methods=["GET"]),
        Route("/readyz", pdp.readyz, methods=["GET"]),
    ]

    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        if audit is not None:
            audit.start()
        if follower is not None:
            follower.start()
        try:
            yield
        finally:
            # Graceful shutdown: uvicorn has finished the requests in flight by now.
            if follower is not None:
                follower.stop()
            if audit is not None:
                audit.close()

    async def http_error(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, HTTPException)  # noqa: S101 - registered for HTTPException
        code = {404: "not_found", 405: "method_not_allowed"}.get(exc.status_code, "http_error")
        return _error(exc.status_code, code, str(exc.detail), exc.headers)

    async def internal_error(request: Request, exc: Exception) -> Response:
        _LOG.error("internal error on %s %s: %s", request.method, request.url.path, exc)
        return _error(500, "internal_error", "internal error (see the server log)")

    app = Starlette(
        routes=routes,
        lifespan=lifespan,
        exception_handlers={HTTPException: http_error, Exception: internal_error},
    )
    app.add_middleware(_RequestLog)
    return app


class _RequestLog:
    """X-Request-ID on every response, and one access-log line per request.

    The line names the method, path, status, duration, request id and decisions; never a
    header value (an Authorization key), a query string or a body (tokens).
    """

    def __init__(self, app: Callable[..., Awaitable[None]]) -> None:
        self.app = app

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        request = Request(scope)
        request_id = _request_id(request)
        started = time.perf_counter()
        status = 500

        async def send_with_id(message: dict[str, Any]) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                headers = list(message.get("headers", []))
                headers.append((b"x-request-id", request_id.encode("latin-1", "replace")))
                message = {**message, "headers": headers}
            await send(message)

        try:
            await self.app(scope, receive, send_with_id)
        finally:
            elapsed = (time.perf_counter() - started) * 1000
            client = scope.get("client")
            decisions = scope.get(_DECISIONS)
            verdicts = (
                " decisions=" + ",".join("allow" if d.allowed else "deny" for d in decisions)
                if decisions
                else ""
            )
            _ACCESS.info(
                '%s "%s %s" %d %.1fms request_id=%s%s',
                client[0] if client else "-",
                scope["method"],
                scope["path"],
                status,
                elapsed,
                request_id,
                verdicts,
            )
