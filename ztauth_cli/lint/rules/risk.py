"""ZT3xx: risky but valid ledgers (warnings; errors under ``--strict``)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from ztauth_cli.lint.context import LintContext
from ztauth_cli.lint.registry import Hit, field_span, rule
from ztauth_cli.model.findings import Severity
from ztauth_cli.model.globs import glob_match

__all__ = [
    "delegation_expired",
    "delegation_without_consent",
    "elevation_all_actions",
    "group_unused",
    "member_and_revoked",
    "permit_unconstrained",
    "policy_shadowed",
    "request_entities_parents",
    "trust_level_unused",
]


@rule(
    "ZT301",
    "delegation-without-consent",
    Severity.WARNING,
    summary="A delegation does not require the delegator's consent.",
    help=(
        "ZTAuth* delegation needs proof of the subject's consent. consent: {required: false} "
        "lets the delegate act for the delegator with no consent token at all; keep it for "
        "machine-to-machine jobs and suppress the finding with the reason."
    ),
)
def delegation_without_consent(ctx: LintContext) -> Iterator[Hit]:
    """Delegations with ``consent.required: false``."""
    for delegation in ctx.ledger.delegations:
        if not delegation.consent_required:
            yield Hit(
                message=f"delegation {delegation.id!r} does not require consent",
                span=field_span(delegation, "consent.required", "consent"),
                hint="set consent: {required: true, issuer: <consent issuer>}",
            )


@rule(
    "ZT302",
    "elevation-all-actions",
    Severity.WARNING,
    summary="An elevation covers every action ('*').",
    help=(
        "Trust elevation lets a workload enter another identity's context; allowing every "
        "action defeats least privilege. List the actions the workload needs."
    ),
)
def elevation_all_actions(ctx: LintContext) -> Iterator[Hit]:
    """Elevations whose actions include ``*``."""
    for elevation in ctx.ledger.elevations:
        if "*" in elevation.actions:
            yield Hit(
                message=f"elevation {elevation.id!r} covers every action ('*')",
                span=field_span(elevation, "actions"),
                hint="list only the actions the workload needs",
            )


@rule(
    "ZT303",
    "delegation-expired",
    Severity.WARNING,
    summary="A delegation's validity ended (relative to now, or to --at).",
    help=(
        "A delegation past valid.until can never apply: remove it, or renew it with a new "
        "validity window. Use --at to lint against another clock."
    ),
)
def delegation_expired(ctx: LintContext) -> Iterator[Hit]:
    """Delegations whose ``valid.until`` is before the lint clock."""
    for delegation in ctx.ledger.delegations:
        until = delegation.valid_until
        if until is not None and until <= ctx.now:
            yield Hit(
                message=f"delegation {delegation.id!r} expired at "
                f"{until.isoformat().replace('+00:00', 'Z')}",
                span=field_span(delegation, "valid.until", "valid"),
            )


@rule(
    "ZT304",
    "trust-level-unused",
    Severity.WARNING,
    summary="A trust level is used by no security group and no elevation.",
    help="An unused trust level is dead configuration: remove it or assign it to a group.",
)
def trust_level_unused(ctx: LintContext) -> Iterator[Hit]:
    """Trust levels no group or elevation names."""
    used = {g.trust_level for g in ctx.ledger.groups}
    used |= {e.min_trust_level for e in ctx.ledger.elevations if e.min_trust_level}
    for level in ctx.ledger.trust_levels:
        if level.name not in used:
            yield Hit(message=f"trust level {level.name!r} is not used", span=level.span)


@rule(
    "ZT305",
    "group-unused",
    Severity.WARNING,
    summary="A security group is used by no elevation or delegation.",
    help=(
        "A group matters when an elevation's actor or a delegation's delegate names it (or "
        "names a workload among its members). Otherwise its members can never act for anyone."
    ),
)
def group_unused(ctx: LintContext) -> Iterator[Hit]:
    """Groups no elevation or delegation reaches."""
    actors = [e.actor for e in ctx.ledger.elevations] + [d.delegate for d in ctx.ledger.delegations]
    named = {a.group for a in actors if a.group is not None}
    workloads = [a.workload for a in actors if a.workload is not None]
    for group in ctx.ledger.groups:
        if group.name in named:
            continue
        if any(glob_match(w, m) for w in workloads for m in group.members):
            continue
        yield Hit(
            message=f"security group {group.name!r} is used by no elevation or delegation",
            span=group.span,
        )


@rule(
    "ZT306",
    "member-and-revoked",
    Severity.WARNING,
    summary="A workload is listed both as a member and as revoked.",
    help=(
        "revoked always wins, so the member entry is dead and misleading to reviewers: remove "
        "the workload from members."
    ),
)
def member_and_revoked(ctx: LintContext) -> Iterator[Hit]:
    """Group entries present in both ``members`` and ``revoked``."""
    for group in ctx.ledger.groups:
        members = set(group.members)
        for index, workload in enumerate(group.revoked):
            if workload not in members:
                continue
            yield Hit(
                message=f"security group {group.name!r} lists {workload!r} both as member and "
                "as revoked",
                # At the revoked entry: the one that wins (the member entry is the dead one).
                span=field_span(group, f"revoked.{index}", "revoked"),
            )


_SCOPE = ("principal", "action", "resource")


def _name(policy: Any) -> str:
    return policy.id or "(no @id)"


def _unconstrained(scope: Any) -> bool:
    return isinstance(scope, dict) and scope.get("op") == "All"


@rule(
    "ZT307",
    "permit-unconstrained",
    Severity.WARNING,
    summary="A permit applies to every principal, action and resource, with no condition.",
    help=(
        "'permit (principal, action, resource);' allows everything to everyone: constrain the "
        "scope or add a when/unless condition."
    ),
)
def permit_unconstrained(ctx: LintContext) -> Iterator[Hit]:
    """Permits with an unconstrained scope and no condition."""
    for policy, est in ctx.policies_with_effect("permit"):
        if est.get("conditions"):
            continue
        if all(_unconstrained(est.get(part)) for part in _SCOPE):
            yield Hit(
                message=f"policy {_name(policy)!r} permits every principal, action and resource",
                span=policy.span,
            )


def _entity_key(entity: Any) -> tuple[str, str] | None:
    if isinstance(entity, dict) and "type" in entity and "id" in entity:
        return (str(entity["type"]), str(entity["id"]))
    return None


def _scope_covers(outer: Any, inner: Any) -> bool:
    """True when every request matching scope ``inner`` also matches scope ``outer``."""
    if not isinstance(outer, dict) or not isinstance(inner, dict):
        return False
    if outer.get("op") == "All" or outer == inner:
        return True
    op_outer, op_inner = outer.get("op"), inner.get("op")
    if op_outer == "in" and "entities" in outer:  # action in [A, B]
        allowed = {_entity_key(e) for e in outer["entities"]}
        if op_inner == "==":
            return _entity_key(inner.get("entity")) in allowed
        if op_inner == "in" and "entities" in inner:
            return {_entity_key(e) for e in inner["entities"]} <= allowed
        return False
    if op_outer == "is" and "in" not in outer:  # principal is T
        kind = outer.get("entity_type")
        if op_inner == "is":
            return bool(inner.get("entity_type") == kind)
        if op_inner == "==":
            entity = inner.get("entity")
            return isinstance(entity, dict) and entity.get("type") == kind
    return False


@rule(
    "ZT308",
    "policy-shadowed",
    Severity.WARNING,
    summary="A permit can never apply: a forbid with no condition covers its whole scope.",
    help=(
        "In Cedar a forbid always wins. A forbid without when/unless whose principal, action "
        "and resource scope contains a permit's scope denies every request that permit could "
        "allow: the permit is dead code, or the forbid is broader than intended."
    ),
)
def policy_shadowed(ctx: LintContext) -> Iterator[Hit]:
    """Permits covered by an unconditional forbid."""
    forbids = [
        (forbid, est)
        for forbid, est in ctx.policies_with_effect("forbid")
        if not est.get("conditions")
    ]
    if not forbids:
        return
    for policy, est in ctx.policies_with_effect("permit"):
        for forbid, fest in forbids:
            if all(_scope_covers(fest.get(p), est.get(p)) for p in _SCOPE):
                yield Hit(
                    message=f"policy {_name(policy)!r} can never permit: forbid "
                    f"{_name(forbid)!r} ({forbid.span}) always applies to its scope",
                    span=policy.span,
                )
                break


@rule(
    "ZT309",
    "request-entities-parents",
    Severity.WARNING,
    summary="settings.request_entities lets requests give entities parents (role membership).",
    help=(
        "With parents in settings.request_entities, a request may place a new entity of that "
        'type (one the ledger does not define) in any group or role, Role::"admin" '
        "included: whoever shapes the request then decides that membership, not the ledger. "
        "Entities the ledger defines or names stay the ledger's whatever the setting says. "
        "Keep it for types whose membership the PEP is the authority for (documents in "
        "folders it owns), and suppress the finding with the reason; otherwise list only "
        "attributes."
    ),
)
def request_entities_parents(ctx: LintContext) -> Iterator[Hit]:
    """Entity types a request may give parents (``settings.request_entities``)."""
    manifest = ctx.ledger.manifest
    if manifest is None:
        return
    for entry in manifest.settings.request_entities:
        if entry.parents:
            kind = "entities of every type" if entry.type == "*" else f"{entry.type} entities"
            yield Hit(
                message=f"requests may give new {kind} parents (settings.request_entities): "
                "the request, not the ledger, then decides their groups and roles",
                span=field_span(manifest, f"settings.request_entities.{entry.type}", "settings"),
                hint="list only attributes, or suppress this finding with the reason",
            )
