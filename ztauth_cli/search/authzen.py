"""OpenID AuthZEN 1.0 search (subject, resource and action search) over the engine.

A search asks the question of ``eval`` with one entity left open: *who* may do this, *what*
may this subject do it to, *which* actions may this subject take on this resource. ztauth
answers by enumeration, never by partial evaluation: the candidates are the ledger's
entities of the searched type (and, for actions, the actions the schema, the policies and
the trust documents name), and every result is a candidate for which the full pipeline
(:class:`~ztauth_cli.engine.Evaluator`) said ``allow``. A search result therefore always
passes the same request through ``ztauth eval`` (AuthZEN 1.0 "Search Semantics": a result
SHOULD evaluate to ``true``; here it does, at the same clock).

Pure: the clock is passed in, nothing is read or written.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

from ztauth_cli.engine.cedar import policy_json
from ztauth_cli.errors import RequestError

if TYPE_CHECKING:
    from ztauth_cli.engine import Evaluator
    from ztauth_cli.model import Ledger

__all__ = [
    "Candidates",
    "Page",
    "SearchKind",
    "SearchResult",
    "search",
    "search_actions",
    "search_resources",
    "search_subjects",
]

SearchKind = str  # "subject" | "resource" | "action"
_KINDS = ("subject", "resource", "action")
# The keys of an AuthZEN search request body ztauth understands; anything else is refused
# (a typo such as "subjects" must not silently widen the question).
_KEYS = frozenset({"subject", "resource", "action", "context", "page", "authorization_model"})
_PAGE_KEYS = frozenset({"token", "limit", "properties"})
_TOKEN_VERSION = 1


@dataclass(frozen=True, slots=True, kw_only=True)
class Candidates:
    """What a search enumerates: the ledger's entities by type, and the known actions.

    Build it once per ledger with :meth:`from_ledger` and reuse it for every search.
    """

    entities: Mapping[str, tuple[str, ...]]
    actions: tuple[str, ...]

    @classmethod
    def from_ledger(cls, ledger: Ledger) -> Candidates:
        """The entity ids of ``ledger`` by Cedar type (sorted) and its actions (sorted).

        Actions are those the schema declares, the policies name in their action scope, and
        the elevations and delegations grant; ``Action`` entities of the entity files too.
        """
        by_type: dict[str, set[str]] = {}
        actions: set[str] = set()
        for entity_file in ledger.entity_files:
            for entity in entity_file.entities:
                uid = entity.get("uid") or {}
                type_, id_ = str(uid.get("type")), str(uid.get("id"))
                if type_ == "Action":
                    actions.add(id_)
                else:
                    by_type.setdefault(type_, set()).add(id_)
        if ledger.schema_text is not None:
            actions.update(schema_actions(ledger.schema_text))
        actions.update(_policy_actions(ledger))
        for elevation in ledger.elevations:
            actions.update(elevation.actions)
        for delegation in ledger.delegations:
            actions.update(delegation.actions)
        return cls(
            entities={t: tuple(sorted(ids)) for t, ids in sorted(by_type.items())},
            actions=tuple(sorted(actions)),
        )


@dataclass(frozen=True, slots=True, kw_only=True)
class Page:
    """The ``page`` object of an AuthZEN search response."""

    next_token: str
    count: int
    total: int

    def to_json(self) -> dict[str, Any]:
        """``{"next_token", "count", "total"}`` (``next_token`` is "" on the last page)."""
        return {"next_token": self.next_token, "count": self.count, "total": self.total}


@dataclass(frozen=True, slots=True, kw_only=True)
class SearchResult:
    """The answer of one search: the permitted entities of this page, sorted.

    ``results`` holds AuthZEN entities (``{"type", "id"}`` or ``{"name"}``); ``evaluations``
    is how many full evaluations the search ran (not part of the AuthZEN response).
    """

    kind: SearchKind
    results: tuple[Mapping[str, str], ...]
    page: Page
    evaluations: int
    candidates: int

    def to_json(self) -> dict[str, Any]:
        """The AuthZEN 1.0 search response body (``page`` first, as the spec recommends)."""
        return {"page": self.page.to_json(), "results": [dict(r) for r in self.results]}


def search_subjects(
    evaluator: Evaluator,
    request: Mapping[str, Any],
    *,
    candidates: Candidates,
    now: datetime,
) -> SearchResult:
    """AuthZEN subject search: every subject of ``request.subject.type`` that may perform
    ``request.action`` on ``request.resource``.

    Raises:
        RequestError: a malformed search request or page token.
    """
    return search(evaluator, request, kind="subject", candidates=candidates, now=now)


def search_resources(
    evaluator: Evaluator,
    request: Mapping[str, Any],
    *,
    candidates: Candidates,
    now: datetime,
) -> SearchResult:
    """AuthZEN resource search: every resource of ``request.resource.type`` on which
    ``request.subject`` may perform ``request.action``.

    Raises:
        RequestError: a malformed search request or page token.
    """
    return search(evaluator, request, kind="resource", candidates=candidates, now=now)


def search_actions(
    evaluator: Evaluator,
    request: Mapping[str, Any],
    *,
    candidates: Candidates,
    now: datetime,
) -> SearchResult:
    """AuthZEN action search: every action ``request.subject`` may perform on
    ``request.resource``.

    Raises:
        RequestError: a malformed search request or page token.
    """
    return search(evaluator, request, kind="action", candidates=candidates, now=now)


def search(
    evaluator: Evaluator,
    request: Mapping[str, Any],
    *,
    kind: SearchKind,
    candidates: Candidates,
    now: datetime,
) -> SearchResult:
    """Run a ``kind`` search (``subject``, ``resource`` or ``action``); see the module doc.

    Raises:
        RequestError: a malformed search request or page token.
    """
    if kind not in _KINDS:
        raise RequestError(f"unknown search kind {kind!r}; expected one of {', '.join(_KINDS)}")
    body = _body(request, kind)
    offset, limit = _page(body, kind)
    names, probes = _probes(body, kind, candidates)
    decisions = evaluator.evaluate_many(probes, now=now) if probes else []
    allowed = [name for name, d in zip(names, decisions, strict=True) if d.allowed]
    if offset > len(allowed):
        raise RequestError("page.token points past the end of the results; start again")
    end = len(allowed) if limit is None else min(len(allowed), offset + limit)
    chosen = allowed[offset:end]
    token = _token(body, end) if end < len(allowed) else ""
    if kind == "action":
        results: tuple[Mapping[str, str], ...] = tuple({"name": n} for n in chosen)
    else:
        type_ = body[kind]["type"]
        results = tuple({"type": type_, "id": n} for n in chosen)
    return SearchResult(
        kind=kind,
        results=results,
        page=Page(next_token=token, count=len(chosen), total=len(allowed)),
        evaluations=len(probes),
        candidates=len(names),
    )


# ----------------------------------------------------------------------------- request


def _body(request: Any, kind: SearchKind) -> dict[str, Any]:
    if not isinstance(request, Mapping):
        raise RequestError(f"a {kind} search request must be a JSON object")
    unknown = sorted(set(request) - _KEYS)
    if unknown:
        raise RequestError(
            f"unknown field(s) in the {kind} search request: {', '.join(unknown)}",
            hint="an AuthZEN search request has subject, action, resource, context and page",
        )
    body = dict(request)
    for field in ("subject", "resource"):
        value = body.get(field)
        if not isinstance(value, Mapping):
            raise RequestError(f"{field} must be an object with a 'type'")
        if not isinstance(value.get("type"), str) or not value["type"]:
            raise RequestError(f"{field}.type must be a non-empty string")
        if field != kind and (not isinstance(value.get("id"), str) or not value["id"]):
            raise RequestError(f"{field}.id must be a non-empty string in a {kind} search")
    if kind == "action":
        if "action" in body:
            raise RequestError(
                "an action search request has no 'action' (it is what is searched for)"
            )
    else:
        action = body.get("action")
        if not isinstance(action, Mapping) or not isinstance(action.get("name"), str):
            raise RequestError("action must be an object with a string 'name'")
        if not action["name"]:
            raise RequestError("action.name must be a non-empty string")
    context = body.get("context", {})
    if not isinstance(context, Mapping):
        raise RequestError("context must be an object")
    return body


def _page(body: Mapping[str, Any], kind: SearchKind) -> tuple[int, int | None]:
    page = body.get("page")
    if page is None:
        return 0, None
    if not isinstance(page, Mapping):
        raise RequestError("page must be an object")
    unknown = sorted(set(page) - _PAGE_KEYS)
    if unknown:
        raise RequestError(f"unknown field(s) in page: {', '.join(unknown)}")
    limit = page.get("limit")
    if limit is not None and (type(limit) is not int or limit < 1):
        raise RequestError(f"page.limit must be a positive integer, found {limit!r}")
    token = page.get("token")
    if token is None or token == "":
        return 0, limit
    if not isinstance(token, str):
        raise RequestError("page.token must be a string")
    try:
        raw = json.loads(base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)))
        version, offset, digest = raw["v"], raw["o"], raw["q"]
    except (ValueError, TypeError, KeyError, binascii.Error):
        raise RequestError("page.token is not a token this PDP issued") from None
    if version != _TOKEN_VERSION or type(offset) is not int or offset < 0:
        raise RequestError("page.token is not a token this PDP issued")
    if digest != _digest(body):
        # AuthZEN 1.0 "Pagination": with a token, every entity and parameter must be identical
        # to the preceding request; a PDP SHOULD return an error otherwise.
        raise RequestError(
            f"page.token belongs to a different {kind} search: the request changed since "
            "the previous page (entities, context and limit must stay the same)"
        )
    return offset, limit


def _digest(body: Mapping[str, Any]) -> str:
    """A digest of the search question (everything but ``page.token``)."""
    question = {k: v for k, v in body.items() if k != "page"}
    page = body.get("page") or {}
    question["page"] = {k: v for k, v in page.items() if k != "token"}
    text = json.dumps(question, sort_keys=True, separators=(",", ":"), ensure_ascii=True)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:24]


def _token(body: Mapping[str, Any], offset: int) -> str:
    raw = json.dumps({"v": _TOKEN_VERSION, "o": offset, "q": _digest(body)}, sort_keys=True)
    return base64.urlsafe_b64encode(raw.encode("utf-8")).decode("ascii").rstrip("=")


def _probes(
    body: Mapping[str, Any], kind: SearchKind, candidates: Candidates
) -> tuple[list[str], list[dict[str, Any]]]:
    """The candidate names and one full evaluation request per candidate.

    A given id of the searched entity is ignored (AuthZEN: it is what is searched for). A
    given subject or resource the ledger does not define gives no candidates: ztauth answers
    from the ledger's facts (DESIGN.md threat model), so it has nothing to search from.
    """
    base = {k: v for k, v in body.items() if k != "page"}
    for field in ("subject", "resource"):
        if field != kind:
            entity = base[field]
            if entity["id"] not in candidates.entities.get(entity["type"], ()):
                return [], []
    if kind == "action":
        names = list(candidates.actions)
        probes = [{**base, "action": {"name": n}} for n in names]
        return names, probes
    searched = dict(base[kind])
    searched.pop("id", None)
    if base["action"]["name"] not in candidates.actions:
        return [], []
    names = list(candidates.entities.get(searched["type"], ()))
    probes = [{**base, kind: {**searched, "id": n}} for n in names]
    return names, probes


# ----------------------------------------------------------------------------- actions

_ACTION_NAME = r"(?:\"[^\"]*\"|[A-Za-z_][A-Za-z0-9_]*)"
_SCHEMA_ACTION = re.compile(rf"\baction\s+({_ACTION_NAME}(?:\s*,\s*{_ACTION_NAME})*)")
_NAME = re.compile(r"\"([^\"]*)\"|([A-Za-z_][A-Za-z0-9_]*)")
_COMMENT = re.compile(r"//[^\n]*")


def schema_actions(schema_text: str) -> tuple[str, ...]:
    """The action names a Cedar schema declares (human or JSON syntax), sorted."""
    stripped = schema_text.lstrip()
    found: set[str] = set()
    if stripped.startswith("{"):
        try:
            document = json.loads(stripped)
        except ValueError:
            return ()
        if isinstance(document, Mapping):
            for namespace in document.values():
                if isinstance(namespace, Mapping) and isinstance(namespace.get("actions"), Mapping):
                    found.update(str(name) for name in namespace["actions"])
        return tuple(sorted(found))
    text = _COMMENT.sub("", schema_text)
    for match in _SCHEMA_ACTION.finditer(text):
        for quoted, bare in _NAME.findall(match.group(1)):
            found.add(quoted or bare)
    return tuple(sorted(found))


def _policy_actions(ledger: Ledger) -> set[str]:
    from ztauth_cli.engine.cedar import parse_policy_files

    policies, _errors = parse_policy_files(ledger.policy_files)
    found: set[str] = set()
    for policy in policies:
        found.update(_scope_actions(policy_json(policy).get("action") or {}))
    return found


def _scope_actions(scope: Mapping[str, Any]) -> Sequence[str]:
    entities: list[Any] = []
    if "entity" in scope:
        entities.append(scope["entity"])
    entities.extend(scope.get("entities") or [])
    return [
        str(entity.get("id"))
        for entity in entities
        if isinstance(entity, Mapping) and entity.get("type") == "Action"
    ]
