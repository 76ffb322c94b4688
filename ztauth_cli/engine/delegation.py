"""Step 4 of the pipeline: may this actor act on behalf of this subject?

An Elevation (a trusted workload enters the subject's authorization context) or a Delegation
(the subject granted a scope to the actor, with consent) must cover actor, subject, action and
resource. Every candidate document is checked stage by stage; when none covers the request, the
candidate that got furthest decides the reason code, so the user hears the most specific
reason (e.g. ``consent_required`` rather than ``unauthorized_actor``).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime

from ztauth_cli import jose
from ztauth_cli.engine.request import Entity
from ztauth_cli.engine.tokens import VerifiedToken, act_of, scope_of
from ztauth_cli.engine.trust import TrustModel, TrustResult
from ztauth_cli.model.decision import ReasonCode
from ztauth_cli.model.documents import ActorRef, Delegation, Elevation, EntitySelector
from ztauth_cli.model.globs import glob_match, matches_any
from ztauth_cli.model.record import record

__all__ = ["Coverage", "Grant", "OnBehalfOf"]

# Stages a candidate passes, in order; a failure at a later stage is more specific.
_RESOURCE, _WINDOW, _ACTION, _TRUST, _CONDITION, _CONSENT, _COVERED = range(1, 8)

ConditionCheck = Callable[[Elevation], tuple[bool, str]]


@record(frozen=True, slots=True, kw_only=True)
class Grant:
    """The elevation or delegation that covers a request."""

    kind: str  # "elevation" | "delegation"
    id: str
    actions: tuple[str, ...]
    # How many further hops may re-delegate after the grant's actor (elevations: none).
    max_depth: int
    # True when the grant is held by the chain's origin hop and re-delegated along the chain.
    origin: bool = False

    @property
    def via(self) -> str:
        """``elevation/<id>`` or ``delegation/<id>``."""
        return f"{self.kind}/{self.id}"


@record(frozen=True, slots=True, kw_only=True)
class Coverage:
    """The outcome of step 4 for one actor: a grant, or why there is none."""

    grant: Grant | None
    code: ReasonCode | None
    detail: str
    stage: int
    touched: tuple[str, ...]


def _actor_matches(ref: ActorRef, actor: str, trust: TrustResult) -> bool:
    if ref.group is not None:
        # Acting as a group member requires having proved the group's trust level.
        return ref.group in trust.groups
    return ref.workload is not None and glob_match(actor, ref.workload)


def _selects(selector: EntitySelector | None, entity: Entity) -> bool:
    if selector is None:
        return True
    if selector.type is not None and selector.type != entity.type:
        return False
    return not selector.ids or matches_any(entity.id, selector.ids)


class OnBehalfOf:
    """The ledger's elevations and delegations (consent tokens arrive verified, step 2)."""

    def __init__(
        self,
        elevations: Sequence[Elevation],
        delegations: Sequence[Delegation],
        *,
        trust: TrustModel,
    ) -> None:
        self.elevations = tuple(elevations)
        self.delegations = tuple(delegations)
        self.trust = trust

    @staticmethod
    def _consent_problem(
        verified: VerifiedToken | None,
        *,
        issuer: str | None,
        subject: Entity,
        actor: str,
        action: str,
        granted: tuple[str, ...],
    ) -> tuple[ReasonCode, str] | None:
        # The token's signature, times, audience and kind were verified in step 2.
        if verified is None:
            return ReasonCode.CONSENT_REQUIRED, f"no consent token from {subject.id}"
        if issuer is not None and verified.issuer != issuer:
            return (
                ReasonCode.INVALID_CONSENT,
                f"consent must come from {issuer}, this one comes from {verified.issuer}",
            )
        claims = verified.claims
        if claims.get("sub") != subject.id:
            return (
                ReasonCode.INVALID_CONSENT,
                f"consent was given by {claims.get('sub')!r}, not by {subject.id!r}",
            )
        delegate = act_of(claims)
        if delegate != actor:
            return (
                ReasonCode.INVALID_CONSENT,
                f"consent was given to {delegate!r}, not to {actor!r}",
            )
        scope = scope_of(claims)
        if scope is None:
            return ReasonCode.INVALID_CONSENT, "consent token has no 'scope' claim"
        wider = sorted(scope - set(granted))
        if wider:
            # A consent wider than the grant is not what the ledger reviewed: refuse it whole.
            return (
                ReasonCode.INVALID_CONSENT,
                f"consent scope is wider than the grant: {', '.join(wider)} "
                f"not in {', '.join(sorted(granted))}",
            )
        if action not in scope:
            # A valid consent that does not reach this action: the action is outside the
            # token's scope (DESIGN.md step 4), not a broken consent.
            return (
                ReasonCode.INSUFFICIENT_SCOPE,
                f"consent scope ({' '.join(sorted(scope))}) does not include {action!r}",
            )
        return None

    def cover(
        self,
        *,
        subject: Entity,
        actor: str,
        trust: TrustResult,
        action: str,
        resource: Entity,
        consent: VerifiedToken | None,
        condition: ConditionCheck,
        now: datetime,
    ) -> Coverage:
        """Find the grant that lets ``actor`` perform ``action`` on ``resource`` for
        ``subject``; without one, the most specific reason. Raises nothing of its own.
        """
        best: tuple[int, ReasonCode, str] | None = None
        touched: list[str] = []

        def fail(stage: int, code: ReasonCode, detail: str) -> None:
            nonlocal best
            if best is None or stage > best[0]:
                best = (stage, code, detail)

        def consent_fails(name: str, issuer: str | None, granted: tuple[str, ...]) -> bool:
            problem = self._consent_problem(
                consent, issuer=issuer, subject=subject, actor=actor, action=action, granted=granted
            )
            if problem is not None:
                fail(_CONSENT, problem[0], f"{name}: {problem[1]}")
            return problem is not None

        def applies(
            name: str,
            ref: ActorRef,
            subjects: EntitySelector | None,
            resources: EntitySelector | None,
        ) -> bool:
            """The document names this actor and subject (touched) and covers the resource."""
            if not (_actor_matches(ref, actor, trust) and _selects(subjects, subject)):
                return False
            touched.append(name)
            if not _selects(resources, resource):
                fail(_RESOURCE, ReasonCode.UNAUTHORIZED_ACTOR, f"{name} does not cover {resource}")
                return False
            return True

        actor_rank = trust.level.rank if trust.level is not None else 0
        for elevation in self.elevations:
            name = f"elevation/{elevation.id}"
            if not applies(name, elevation.actor, elevation.subjects, elevation.resources):
                continue
            if action not in elevation.actions:
                fail(
                    _ACTION,
                    ReasonCode.INSUFFICIENT_SCOPE,
                    f"{name} allows {', '.join(elevation.actions)}, not {action!r}",
                )
                continue
            needed = elevation.min_trust_level
            if needed is not None and needed not in self.trust.levels:
                # Fail closed: a requirement that names no known level can never be met.
                fail(
                    _TRUST,
                    ReasonCode.UNTRUSTED_ACTOR,
                    f"{name} needs unknown trust level {needed!r}",
                )
                continue
            if needed is not None and actor_rank < self.trust.rank(needed):
                have = trust.level.name if trust.level is not None else "none"
                fail(
                    _TRUST,
                    ReasonCode.UNTRUSTED_ACTOR,
                    f"{name} needs trust level {needed!r}; {actor} holds {have!r}",
                )
                continue
            if elevation.condition is not None:
                holds, why = condition(elevation)
                if not holds:
                    fail(
                        _CONDITION,
                        ReasonCode.UNAUTHORIZED_ACTOR,
                        f"{name}: condition `{elevation.condition}` {why}",
                    )
                    continue
            if elevation.consent and consent_fails(name, None, elevation.actions):
                continue
            return Coverage(
                grant=Grant(
                    kind="elevation", id=elevation.id, actions=elevation.actions, max_depth=0
                ),
                code=None,
                detail=f"{name} lets {actor} act for {subject} ({action} on {resource})",
                stage=_COVERED,
                touched=tuple(touched),
            )

        for delegation in self.delegations:
            name = f"delegation/{delegation.id}"
            if not applies(name, delegation.delegate, delegation.delegator, delegation.resources):
                continue
            if delegation.valid_from is not None and now < delegation.valid_from:
                fail(
                    _WINDOW,
                    ReasonCode.UNAUTHORIZED_ACTOR,
                    f"{name} is valid from {jose.format_time(delegation.valid_from)}",
                )
                continue
            if delegation.valid_until is not None and now >= delegation.valid_until:
                fail(
                    _WINDOW,
                    ReasonCode.UNAUTHORIZED_ACTOR,
                    f"{name} expired at {jose.format_time(delegation.valid_until)}",
                )
                continue
            if action not in delegation.actions:
                fail(
                    _ACTION,
                    ReasonCode.INSUFFICIENT_SCOPE,
                    f"{name} grants {', '.join(delegation.actions)}, not {action!r}",
                )
                continue
            if delegation.consent_required and consent_fails(
                name, delegation.consent_issuer, delegation.actions
            ):
                continue
            return Coverage(
                grant=Grant(
                    kind="delegation",
                    id=delegation.id,
                    actions=delegation.actions,
                    max_depth=delegation.max_depth,
                ),
                code=None,
                detail=f"{name} lets {actor} act for {subject} ({action} on {resource})",
                stage=_COVERED,
                touched=tuple(touched),
            )

        if best is None:
            return Coverage(
                grant=None,
                code=ReasonCode.UNAUTHORIZED_ACTOR,
                detail=f"no elevation or delegation lets {actor} act for {subject}",
                stage=0,
                touched=tuple(touched),
            )
        stage, code, detail = best
        return Coverage(grant=None, code=code, detail=detail, stage=stage, touched=tuple(touched))
