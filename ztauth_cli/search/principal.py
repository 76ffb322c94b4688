"""ZTAuth* principal search: who may act for whom, through which grant, presenting what.

The delegation half of an access review, which AuthZEN's subject/resource/action search does
not reach. Two directions:

* **for a subject** (``subject``, ``action``, ``resource`` given): every workload, or glob of
  workloads, of a security group or named by an elevation or delegation, that may perform the
  action on the resource on the subject's behalf;
* **for a workload** (``authorization_model.principal`` given): every subject, action and
  resource of the ledger that workload may act on, and through which grant.

Each result is confirmed by a full evaluation through the pipeline, exactly as ``eval`` would
run it, with the tokens the grant asks for minted by fresh keys the probe evaluator trusts
(the same mechanism as ``ztauth test``): an attestation when the trust level needs one, the
subject's consent when the grant needs it (scope = the grant's actions), a transaction token
when the ledger requires one. A glob member is probed through one id it matches (not revoked
anywhere) and reported as the pattern. The result says what a real request must present.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from ztauth_cli.errors import RequestError
from ztauth_cli.model.globs import glob_match, has_wildcard, matches_any, revoked_by
from ztauth_cli.model.span import Span

if TYPE_CHECKING:
    from ztauth_cli.engine import Evaluator
    from ztauth_cli.model import Ledger
    from ztauth_cli.model.documents import ActorRef, Delegation, Elevation, EntitySelector
    from ztauth_cli.search.authzen import Candidates
    from ztauth_cli.testing.tokens import IssuerKeys

__all__ = ["ActorGrant", "PrincipalSearch", "Prober", "Requirements", "search_principals"]

_PROBE_NAMES = ("ztauth-probe", "ztauth-probe-1", "ztauth-probe-2")
_WORKLOAD_TYPE = "Workload"
_SPAN = Span(path="<search>")


@dataclass(frozen=True, slots=True, kw_only=True)
class Requirements:
    """What a request through a grant must present."""

    trust_level: str | None
    attestation_issuer: str | None
    attestation_max_age: int | None  # seconds
    consent: bool
    consent_issuer: str | None
    txn_token: bool
    condition: str | None

    def to_json(self) -> dict[str, Any]:
        """The JSON form (``schemas/search-principal.schema.json``)."""
        return {
            "trust_level": self.trust_level,
            "attestation": (
                {"issuer": self.attestation_issuer, "max_age_seconds": self.attestation_max_age}
                if self.attestation_issuer is not None
                else None
            ),
            "consent": {"issuer": self.consent_issuer} if self.consent else None,
            "txn_token": self.txn_token,
            "condition": self.condition,
        }

    def summary(self) -> str:
        """One line for a table: ``attested (attestation ≤600s from X); consent from Y``."""
        parts: list[str] = []
        if self.trust_level is not None:
            level = self.trust_level
            if self.attestation_issuer is not None:
                level += (
                    f" (attestation <= {self.attestation_max_age}s from {self.attestation_issuer})"
                )
            parts.append(f"trust {level}")
        if self.consent:
            parts.append(f"consent from {self.consent_issuer or 'any consent issuer'}")
        if self.txn_token:
            parts.append("txn token")
        if self.condition is not None:
            parts.append(f"when {self.condition}")
        return "; ".join(parts) or "nothing"


@dataclass(frozen=True, slots=True, kw_only=True)
class ActorGrant:
    """One confirmed answer: ``actor`` may perform ``action`` on ``resource`` for ``subject``."""

    actor: str
    pattern: bool
    group: str | None
    subject: tuple[str, str]
    action: str
    resource: tuple[str, str]
    via: str
    max_depth: int
    requires: Requirements

    @property
    def key(self) -> tuple[str, ...]:
        """The sort key: subject, action, resource, actor, via."""
        return (*self.subject, self.action, *self.resource, self.actor, self.via)

    def to_json(self) -> dict[str, Any]:
        """The JSON form (``schemas/search-principal.schema.json``)."""
        return {
            "actor": self.actor,
            "pattern": self.pattern,
            "group": self.group,
            "subject": {"type": self.subject[0], "id": self.subject[1]},
            "action": {"name": self.action},
            "resource": {"type": self.resource[0], "id": self.resource[1]},
            "via": self.via,
            "max_depth": self.max_depth,
            "requires": self.requires.to_json(),
        }


@dataclass(frozen=True, slots=True, kw_only=True)
class PrincipalSearch:
    """The answer of a principal search, sorted."""

    direction: str  # "subject" (who may act for it) | "workload" (what it may do)
    query: Mapping[str, Any]
    results: tuple[ActorGrant, ...]
    evaluations: int

    def to_json(self) -> dict[str, Any]:
        """The JSON document (``schemas/search-principal.schema.json``)."""
        return {
            "direction": self.direction,
            "query": dict(self.query),
            "results": [r.to_json() for r in self.results],
            "evaluations": self.evaluations,
        }


class Prober:
    """A probe evaluator (the ledger with its issuers' keys replaced by ``keys``) and the
    means to mint the tokens a grant asks for.
    """

    def __init__(self, ledger: Ledger, evaluator: Evaluator, keys: IssuerKeys) -> None:
        self.ledger = ledger
        self.evaluator = evaluator
        self.keys = keys
        self.require_txn = (
            ledger.manifest.settings.require_txn_token if ledger.manifest is not None else False
        )
        self._minted: dict[tuple[Any, ...], str] = {}

    def issuer_of(self, kind: str) -> str | None:
        """The first issuer (by name) the ledger lets issue ``kind`` tokens."""
        names = sorted(i.name for i in self.ledger.issuers if kind in i.issues)
        return names[0] if names else None

    def mint(
        self, issuer: str, claims: Mapping[str, Any], *, now: datetime, ttl: int
    ) -> str | None:
        """A token from ``issuer`` with ``claims``, valid ``ttl`` seconds from ``now``."""
        from ztauth_cli.model.suites import TokenSpec
        from ztauth_cli.testing.tokens import mint_token

        key = self.keys.keys.get(issuer)
        if key is None:
            return None
        cache = (issuer, tuple(sorted(claims.items())), now, ttl)
        if cache not in self._minted:
            doc = self.ledger.issuer(issuer)
            spec = TokenSpec(
                span=_SPAN,
                name="probe",
                issuer=issuer,
                claims=dict(claims),
                expires_in=timedelta(seconds=ttl),
                not_before=None,
                signed_by=None,
                audience=None,
            )
            audience = (doc.audience if doc is not None else None) or self.ledger.ztid
            self._minted[cache] = mint_token(spec, key=key, at=now, default_audience=audience)
        return self._minted[cache]


@dataclass(frozen=True, slots=True, kw_only=True)
class _Grant:
    via: str
    actor: ActorRef
    subjects: EntitySelector | None
    resources: EntitySelector | None
    actions: tuple[str, ...]
    consent: bool
    consent_issuer: str | None
    min_trust_level: str | None
    condition: str | None
    max_depth: int


def _grants(ledger: Ledger) -> list[_Grant]:
    return [_elevation(e) for e in ledger.elevations] + [_delegation(d) for d in ledger.delegations]


def _elevation(e: Elevation) -> _Grant:
    return _Grant(
        via=f"elevation/{e.id}",
        actor=e.actor,
        subjects=e.subjects,
        resources=e.resources,
        actions=e.actions,
        consent=e.consent,
        consent_issuer=None,
        min_trust_level=e.min_trust_level,
        condition=e.condition,
        max_depth=0,
    )


def _delegation(d: Delegation) -> _Grant:
    return _Grant(
        via=f"delegation/{d.id}",
        actor=d.delegate,
        subjects=d.delegator,
        resources=d.resources,
        actions=d.actions,
        consent=d.consent_required,
        consent_issuer=d.consent_issuer,
        min_trust_level=None,
        condition=None,
        max_depth=d.max_depth,
    )


def _selects(selector: EntitySelector | None, type_: str, id_: str) -> bool:
    if selector is None:
        return True
    if selector.type is not None and selector.type != type_:
        return False
    return not selector.ids or matches_any(id_, selector.ids)


def _witness(pattern: str, revoked: Sequence[str]) -> str | None:
    """An id ``pattern`` matches and no group revokes (the pattern itself when it is exact)."""
    if not has_wildcard(pattern):
        return None if revoked_by(pattern, revoked) else pattern
    for name in _PROBE_NAMES:
        text = re.sub(r"\[!([^\]]*)\]", "~", pattern)
        text = re.sub(r"\[([^\]])[^\]]*\]", r"\1", text)
        text = text.replace("**", name).replace("*", name).replace("?", "z")
        if glob_match(text, pattern) and not revoked_by(text, revoked):
            return text
    return None


def _member_groups(ledger: Ledger, workload: str) -> list[str]:
    revoked = [r for g in ledger.groups for r in g.revoked]
    if revoked_by(workload, revoked):
        return []
    return sorted(g.name for g in ledger.groups if matches_any(workload, g.members))


def _level_for(ledger: Ledger, groups: Iterable[str], needed: str | None) -> Any:
    """The trust level the probe proves: the group's, or the best of the workload's groups."""
    levels = [
        level
        for g in groups
        if (group := ledger.group(g)) is not None
        and (level := ledger.trust_level(group.trust_level)) is not None
    ]
    if not levels:
        return None
    if needed is not None:
        need = ledger.trust_level(needed)
        enough = [lv for lv in levels if need is None or lv.rank >= need.rank]
        levels = enough or levels
    return max(levels, key=lambda lv: lv.rank)


def search_principals(
    prober: Prober,
    request: Mapping[str, Any],
    *,
    candidates: Candidates,
    now: datetime,
) -> PrincipalSearch:
    """Answer a principal search (see the module doc): for a subject, or for a workload.

    Raises:
        RequestError: a malformed principal search request.
    """
    if not isinstance(request, Mapping):
        raise RequestError("a principal search request must be a JSON object")
    unknown = sorted(
        set(request) - {"subject", "action", "resource", "context", "authorization_model"}
    )
    if unknown:
        raise RequestError(
            f"unknown field(s) in the principal search request: {', '.join(unknown)}"
        )
    context = request.get("context", {})
    if not isinstance(context, Mapping):
        raise RequestError("context must be an object")
    model = request.get("authorization_model")
    if model is not None:
        if not isinstance(model, Mapping) or set(model) - {"principal", "ledger"}:
            raise RequestError(
                "authorization_model of a principal search holds only 'principal' (and 'ledger')"
            )
        principal = _entity(model.get("principal"), "authorization_model.principal", need_id=True)
        return _for_workload(prober, request, principal, dict(context), candidates, now)
    return _for_subject(prober, request, dict(context), now)


def _entity(value: Any, where: str, *, need_id: bool) -> tuple[str, str | None]:
    if (
        not isinstance(value, Mapping)
        or not isinstance(value.get("type"), str)
        or not value["type"]
    ):
        raise RequestError(f"{where} must be an object with a non-empty string 'type'")
    id_ = value.get("id")
    if id_ is not None and (not isinstance(id_, str) or not id_):
        raise RequestError(f"{where}.id must be a non-empty string")
    if need_id and id_ is None:
        raise RequestError(f"{where}.id is required")
    return value["type"], id_


def _action(request: Mapping[str, Any], *, required: bool) -> str | None:
    action = request.get("action")
    if action is None and not required:
        return None
    if (
        not isinstance(action, Mapping)
        or not isinstance(action.get("name"), str)
        or not action["name"]
    ):
        raise RequestError("action must be an object with a non-empty string 'name'")
    name: str = action["name"]
    return name


def _for_subject(
    prober: Prober, request: Mapping[str, Any], context: dict[str, Any], now: datetime
) -> PrincipalSearch:
    s_type, s_id = _entity(request.get("subject"), "subject", need_id=True)
    r_type, r_id = _entity(request.get("resource"), "resource", need_id=True)
    action = _action(request, required=True)
    assert s_id is not None  # noqa: S101 - need_id
    assert r_id is not None  # noqa: S101 - need_id
    assert action is not None  # noqa: S101 - required
    ledger = prober.ledger
    revoked = [r for g in ledger.groups for r in g.revoked]
    plans: list[tuple[_Grant, str, str, str | None]] = []  # grant, shown actor, witness, group
    for grant in _grants(ledger):
        if action not in grant.actions or not _selects(grant.subjects, s_type, s_id):
            continue
        if not _selects(grant.resources, r_type, r_id):
            continue
        if grant.actor.group is not None:
            group = ledger.group(grant.actor.group)
            for member in group.members if group is not None else ():
                witness = _witness(member, revoked)
                if witness is not None:
                    plans.append((grant, member, witness, grant.actor.group))
        elif grant.actor.workload is not None:
            witness = _witness(grant.actor.workload, revoked)
            if witness is not None:
                plans.append((grant, grant.actor.workload, witness, None))
    results = _confirm(
        prober,
        [(g, shown, w, grp, (s_type, s_id), action, (r_type, r_id)) for g, shown, w, grp in plans],
        context=context,
        now=now,
    )
    query = {"subject": {"type": s_type, "id": s_id}, "action": {"name": action}}
    query["resource"] = {"type": r_type, "id": r_id}
    return PrincipalSearch(
        direction="subject", query=query, results=results[0], evaluations=results[1]
    )


def _for_workload(
    prober: Prober,
    request: Mapping[str, Any],
    principal: tuple[str, str | None],
    context: dict[str, Any],
    candidates: Candidates,
    now: datetime,
) -> PrincipalSearch:
    workload = principal[1]
    assert workload is not None  # noqa: S101 - need_id
    ledger = prober.ledger
    subject = (
        _entity(request["subject"], "subject", need_id=False) if "subject" in request else None
    )
    resource = (
        _entity(request["resource"], "resource", need_id=False) if "resource" in request else None
    )
    action = _action(request, required=False)
    groups = _member_groups(ledger, workload)

    def entities(
        selector: EntitySelector | None, wanted: tuple[str, str | None] | None
    ) -> list[tuple[str, str]]:
        found: list[tuple[str, str]] = []
        for type_, ids in candidates.entities.items():
            if wanted is not None and wanted[0] != type_:
                continue
            for id_ in ids:
                if wanted is not None and wanted[1] is not None and wanted[1] != id_:
                    continue
                if _selects(selector, type_, id_):
                    found.append((type_, id_))
        return found

    plans: list[tuple[_Grant, str, str, str | None, tuple[str, str], str, tuple[str, str]]] = []
    for grant in _grants(ledger):
        if grant.actor.group is not None:
            if grant.actor.group not in groups:
                continue
            group: str | None = grant.actor.group
        elif grant.actor.workload is not None and glob_match(workload, grant.actor.workload):
            group = None
        else:
            continue
        actions = [a for a in grant.actions if action is None or a == action]
        for subj in entities(grant.subjects, subject):
            plans.extend(
                (grant, workload, workload, group, subj, act, res)
                for res in entities(grant.resources, resource)
                for act in actions
            )
    results, evaluations = _confirm(
        prober, plans, context=context, now=now, principal_type=principal[0]
    )
    query: dict[str, Any] = {
        "authorization_model": {"principal": {"type": principal[0], "id": workload}}
    }
    for name, value in (("subject", subject), ("resource", resource)):
        if value is not None:
            query[name] = {"type": value[0], **({"id": value[1]} if value[1] is not None else {})}
    if action is not None:
        query["action"] = {"name": action}
    return PrincipalSearch(
        direction="workload", query=query, results=results, evaluations=evaluations
    )


def _confirm(
    prober: Prober,
    plans: Sequence[tuple[_Grant, str, str, str | None, tuple[str, str], str, tuple[str, str]]],
    *,
    context: Mapping[str, Any],
    now: datetime,
    principal_type: str = _WORKLOAD_TYPE,
) -> tuple[tuple[ActorGrant, ...], int]:
    """Evaluate each plan with the tokens its grant asks for; keep the allowed ones."""
    ledger = prober.ledger
    by_via = {g.via: g for g in _grants(ledger)}
    requests: list[dict[str, Any]] = []
    kept: list[
        tuple[str, str, str | None, tuple[str, str], str, tuple[str, str], Requirements]
    ] = []
    for grant, shown, witness, group, subj, act, res in plans:
        groups = [group] if group is not None else _member_groups(ledger, witness)
        level = _level_for(ledger, groups, grant.min_trust_level)
        tokens: dict[str, str] = {}
        attestation = level.attestation if level is not None else None
        if attestation is not None:
            token = prober.mint(
                attestation.issuer,
                {"sub": witness},
                now=now,
                ttl=int(attestation.max_age.total_seconds()),
            )
            if token is not None:
                tokens["attestation"] = token
        consent_issuer = grant.consent_issuer or prober.issuer_of("consent")
        if grant.consent and consent_issuer is not None:
            token = prober.mint(
                consent_issuer,
                {"sub": subj[1], "act": witness, "scope": " ".join(sorted(grant.actions))},
                now=now,
                ttl=3600,
            )
            if token is not None:
                tokens["consent"] = token
        txn_issuer = prober.issuer_of("txn")
        if prober.require_txn and txn_issuer is not None:
            token = prober.mint(
                txn_issuer,
                {"sub": subj[1], "act": witness, "scope": act, "txn": "ztauth-search-probe"},
                now=now,
                ttl=300,
            )
            if token is not None:
                tokens["txn"] = token
        model: dict[str, Any] = {"principal": {"type": principal_type, "id": witness}}
        if tokens:
            model["tokens"] = tokens
        requests.append(
            {
                "subject": {"type": subj[0], "id": subj[1]},
                "action": {"name": act},
                "resource": {"type": res[0], "id": res[1]},
                "context": dict(context),
                "authorization_model": model,
            }
        )
        requires = Requirements(
            trust_level=level.name if level is not None else None,
            attestation_issuer=attestation.issuer if attestation is not None else None,
            attestation_max_age=(
                int(attestation.max_age.total_seconds()) if attestation is not None else None
            ),
            consent=grant.consent,
            consent_issuer=consent_issuer if grant.consent else None,
            txn_token=prober.require_txn,
            condition=grant.condition,
        )
        kept.append((grant.via, shown, group, subj, act, res, requires))
    decisions = prober.evaluator.evaluate_many(requests, now=now) if requests else []
    found: dict[tuple[str, ...], ActorGrant] = {}
    for (via, shown, group, subj, act, res, requires), decision in zip(
        kept, decisions, strict=True
    ):
        # Another grant that decides first is found (with its own requirements) by its plan.
        if not decision.allowed or decision.via != via:
            continue
        decided = by_via.get(decision.via)
        if decided is None:
            continue
        answer = ActorGrant(
            actor=shown,
            pattern=has_wildcard(shown),
            group=group,
            subject=subj,
            action=act,
            resource=res,
            via=decision.via,
            max_depth=decided.max_depth,
            requires=requires,
        )
        found.setdefault(answer.key, answer)
    return tuple(found[k] for k in sorted(found)), len(requests)
