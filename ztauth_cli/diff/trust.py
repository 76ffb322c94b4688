"""Trust, entity, schema and manifest changes between two ledgers, with their security meaning.

Pure functions over two :class:`Ledger` values. Each change is classified (DESIGN.md,
"Workload governance" and "Delegation first"): anything that lets a workload or a delegate do
more, or with fewer proofs, is ``widening``; anything that takes access away is ``narrowing``;
a change whose effect cannot be derived (a new condition text, a new issuer URL) is
``neutral`` and left to the reviewer.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Mapping, Sequence
from datetime import datetime, timedelta
from fnmatch import fnmatchcase
from typing import Any

from ztauth_cli.diff.model import Change, Impact
from ztauth_cli.model import (
    ActorRef,
    Delegation,
    Elevation,
    EntitySelector,
    Issuer,
    Ledger,
    SecurityGroup,
    Span,
    TrustLevel,
)

__all__ = ["diff_entities", "diff_manifest", "diff_schema", "diff_trust", "is_covered"]

_W, _N, _Z = Impact.WIDENING, Impact.NARROWING, Impact.NEUTRAL


def is_covered(pattern: str, patterns: Iterable[str]) -> bool:
    """True when every id matched by ``pattern`` is matched by one of ``patterns``.

    Globs are compared as text (``a/*`` is covered by ``*``), which is exact for the ids and
    shell-style globs a ledger uses; ``*`` alone matches anything.
    """
    return any(pattern == other or fnmatchcase(pattern, other) for other in patterns)


def _fmt(items: Iterable[str]) -> str:
    return ", ".join(sorted(items)) or "(none)"


def _set_changes(
    *,
    area: str,
    subject: str,
    field: str,
    before: Sequence[str],
    after: Sequence[str],
    span: Span | None,
    noun: str,
    added_is: Impact = _W,
    any_when_empty: bool = False,
    added_text: str = "{noun} {item!r} added",
    removed_text: str = "{noun} {item!r} removed",
) -> list[Change]:
    """Per-item changes of a set of ids/globs; ``added_is`` is the impact of an added item.

    An item covered by a glob of the other side changes nothing (``neutral``). With
    ``any_when_empty``, an empty set means "any" (a missing selector matches everything).
    """
    removed_is = _N if added_is is _W else _W
    old, new = set(before), set(after)
    if old == new:
        return []
    if any_when_empty and (not old or not new):
        lifted = not new
        return [
            Change(
                area=area,
                subject=subject,
                kind="changed",
                field=field,
                impact=_W if lifted else _N,
                summary=f"{noun}s no longer restricted (any)"
                if lifted
                else f"{noun}s restricted to {_fmt(new)}",
                before=_fmt(old) if old else "any",
                after=_fmt(new) if new else "any",
                span=span,
            )
        ]
    changes = []
    for item in sorted(new - old):
        covered = is_covered(item, old)
        changes.append(
            Change(
                area=area,
                subject=subject,
                kind="changed",
                field=field,
                impact=_Z if covered else added_is,
                summary=added_text.format(noun=noun, item=item)
                + (" (already covered)" if covered else ""),
                after=item,
                span=span,
            )
        )
    for item in sorted(old - new):
        covered = is_covered(item, new)
        changes.append(
            Change(
                area=area,
                subject=subject,
                kind="changed",
                field=field,
                impact=_Z if covered else removed_is,
                summary=removed_text.format(noun=noun, item=item)
                + (" (still covered)" if covered else ""),
                before=item,
                span=span,
            )
        )
    return changes


def _by(items: Iterable[Any], key: str) -> dict[str, Any]:
    return {getattr(item, key): item for item in items}


def _pair_diff(
    base: Iterable[Any],
    target: Iterable[Any],
    *,
    key: str,
    prefix: str,
    added: Callable[[Any], tuple[Impact, str]],
    removed: Callable[[Any], tuple[Impact, str]],
    changed: Callable[[Any, Any, str], list[Change]],
) -> list[Change]:
    old, new = _by(base, key), _by(target, key)
    out: list[Change] = []
    for name in sorted(new.keys() - old.keys()):
        impact, summary = added(new[name])
        out.append(
            Change(
                area="trust",
                subject=f"{prefix}/{name}",
                kind="added",
                field=None,
                impact=impact,
                summary=summary,
                span=new[name].span,
            )
        )
    for name in sorted(old.keys() - new.keys()):
        impact, summary = removed(old[name])
        out.append(
            Change(
                area="trust",
                subject=f"{prefix}/{name}",
                kind="removed",
                field=None,
                impact=impact,
                summary=summary,
                span=old[name].span,
            )
        )
    for name in sorted(old.keys() & new.keys()):
        out.extend(changed(old[name], new[name], f"{prefix}/{name}"))
    return out


def _one(
    subject: str,
    field: str,
    impact: Impact,
    summary: str,
    *,
    before: object,
    after: object,
    span: Span | None,
) -> Change:
    return Change(
        area="trust",
        subject=subject,
        kind="changed",
        field=field,
        impact=impact,
        summary=summary,
        before=None if before is None else str(before),
        after=None if after is None else str(after),
        span=span,
    )


def _fmt_age(value: timedelta) -> str:
    seconds = int(value.total_seconds())
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        if seconds and seconds % size == 0:
            return f"{seconds // size}{unit}"
    return f"{seconds}s"


# ------------------------------------------------------------------------------- trust levels


def _diff_levels(base: Ledger, target: Ledger) -> list[Change]:
    def changed(old: TrustLevel, new: TrustLevel, subject: str) -> list[Change]:
        out = []
        if old.rank != new.rank:
            # Groups at this level now satisfy more (or fewer) min_trust_level requirements.
            up = new.rank > old.rank
            out.append(
                _one(
                    subject,
                    "rank",
                    _W if up else _N,
                    f"rank {'raised' if up else 'lowered'} from {old.rank} to {new.rank}",
                    before=old.rank,
                    after=new.rank,
                    span=new.span,
                )
            )
        a, b = old.attestation, new.attestation
        if a is not None and b is None:
            out.append(
                _one(
                    subject,
                    "requires.attestation",
                    _W,
                    "attestation no longer required",
                    before=f"max_age {_fmt_age(a.max_age)} by {a.issuer}",
                    after=None,
                    span=new.span,
                )
            )
        elif a is None and b is not None:
            out.append(
                _one(
                    subject,
                    "requires.attestation",
                    _N,
                    "attestation now required",
                    before=None,
                    after=f"max_age {_fmt_age(b.max_age)} by {b.issuer}",
                    span=new.span,
                )
            )
        elif a is not None and b is not None:
            if a.max_age != b.max_age:
                longer = b.max_age > a.max_age
                out.append(
                    _one(
                        subject,
                        "requires.attestation.max_age",
                        _W if longer else _N,
                        f"attestation max_age {'longer' if longer else 'shorter'}: "
                        f"{_fmt_age(a.max_age)} -> {_fmt_age(b.max_age)}",
                        before=_fmt_age(a.max_age),
                        after=_fmt_age(b.max_age),
                        span=new.span,
                    )
                )
            if a.issuer != b.issuer:
                out.append(
                    _one(
                        subject,
                        "requires.attestation.issuer",
                        _Z,
                        f"attestation issuer changed: {a.issuer} -> {b.issuer}",
                        before=a.issuer,
                        after=b.issuer,
                        span=new.span,
                    )
                )
        return out

    return _pair_diff(
        base.trust_levels,
        target.trust_levels,
        key="name",
        prefix="trust_level",
        added=lambda t: (_Z, f"trust level added (rank {t.rank})"),
        removed=lambda t: (_N, f"trust level removed (rank {t.rank})"),
        changed=changed,
    )


# ------------------------------------------------------------------------------------ groups


def _rank(name: str | None, *ledgers: Ledger) -> int | None:
    if name is None:
        return None
    for ledger in ledgers:
        level = ledger.trust_level(name)
        if level is not None:
            return level.rank
    return None


def _diff_groups(base: Ledger, target: Ledger) -> list[Change]:
    def changed(old: SecurityGroup, new: SecurityGroup, subject: str) -> list[Change]:
        out = _set_changes(
            area="trust",
            subject=subject,
            field="members",
            before=old.members,
            after=new.members,
            span=new.span,
            noun="member",
        )
        out += _set_changes(
            area="trust",
            subject=subject,
            field="revoked",
            before=old.revoked,
            after=new.revoked,
            span=new.span,
            noun="revocation",
            added_is=_N,
            added_text="{item!r} revoked",
            removed_text="revocation of {item!r} lifted",
        )
        if old.trust_level != new.trust_level:
            before, after = _rank(old.trust_level, target, base), _rank(new.trust_level, target)
            if before is None or after is None or before == after:
                impact, how = _Z, "moved"
            else:
                impact, how = (_W, "moved up") if after > before else (_N, "moved down")
            out.append(
                _one(
                    subject,
                    "trust_level",
                    impact,
                    f"{how} from trust level {old.trust_level} (rank {before}) "
                    f"to {new.trust_level} (rank {after})",
                    before=old.trust_level,
                    after=new.trust_level,
                    span=new.span,
                )
            )
        return out

    return _pair_diff(
        base.groups,
        target.groups,
        key="name",
        prefix="group",
        added=lambda g: (
            _W if g.members else _Z,
            f"security group added at trust level {g.trust_level} with members {_fmt(g.members)}",
        ),
        removed=lambda g: (_N, f"security group removed (trust level {g.trust_level})"),
        changed=changed,
    )


# ----------------------------------------------------------------------- elevation/delegation


def _actor_change(
    subject: str, field: str, old: ActorRef, new: ActorRef, span: Span
) -> list[Change]:
    if old == new:
        return []
    return [
        _one(
            subject,
            field,
            _Z,
            f"{field} changed from {old} to {new}",
            before=old,
            after=new,
            span=span,
        )
    ]


def _selector_changes(
    subject: str,
    field: str,
    old: EntitySelector | None,
    new: EntitySelector | None,
    span: Span,
) -> list[Change]:
    """A missing selector, a missing type and an empty id list all mean "any"."""
    if old == new:
        return []
    if old is None or new is None:
        lifted = new is None
        return [
            _one(
                subject,
                field,
                _W if lifted else _N,
                f"{field} {'no longer restricted (any)' if lifted else 'now restricted'}",
                before=_selector_text(old),
                after=_selector_text(new),
                span=span,
            )
        ]
    out: list[Change] = []
    if old.type != new.type:
        if new.type is None:
            impact, summary = _W, f"{field} type no longer restricted (was {old.type})"
        elif old.type is None:
            impact, summary = _N, f"{field} type now restricted to {new.type}"
        else:
            impact, summary = _Z, f"{field} type changed from {old.type} to {new.type}"
        out.append(
            _one(
                subject,
                f"{field}.type",
                impact,
                summary,
                before=old.type,
                after=new.type,
                span=span,
            )
        )
    out += _set_changes(
        area="trust",
        subject=subject,
        field=f"{field}.ids",
        before=old.ids,
        after=new.ids,
        span=span,
        noun=f"{field} id",
        any_when_empty=True,
    )
    return out


def _selector_text(selector: EntitySelector | None) -> str:
    if selector is None:
        return "any"
    ids = f" {_fmt(selector.ids)}" if selector.ids else ""
    return f"{selector.type or 'any type'}{ids}"


def _level_change(
    subject: str, old: str | None, new: str | None, base: Ledger, target: Ledger, span: Span
) -> list[Change]:
    if old == new:
        return []
    before, after = _rank(old, base, target), _rank(new, target, base)
    if new is None:
        impact, summary = _W, f"min_trust_level {old} no longer required"
    elif old is None:
        impact, summary = _N, f"min_trust_level {new} now required"
    elif before is None or after is None or before == after:
        impact, summary = _Z, f"min_trust_level changed from {old} to {new}"
    elif after < before:
        impact, summary = (
            _W,
            f"min_trust_level lowered from {old} (rank {before}) to {new} (rank {after})",
        )
    else:
        impact, summary = (
            _N,
            f"min_trust_level raised from {old} (rank {before}) to {new} (rank {after})",
        )
    return [
        _one(subject, "requires.min_trust_level", impact, summary, before=old, after=new, span=span)
    ]


def _diff_elevations(base: Ledger, target: Ledger) -> list[Change]:
    def changed(old: Elevation, new: Elevation, subject: str) -> list[Change]:
        span = new.span
        out = _actor_change(subject, "actor", old.actor, new.actor, span)
        out += _selector_changes(subject, "subjects", old.subjects, new.subjects, span)
        out += _set_changes(
            area="trust",
            subject=subject,
            field="actions",
            before=old.actions,
            after=new.actions,
            span=span,
            noun="action",
        )
        out += _selector_changes(subject, "resources", old.resources, new.resources, span)
        out += _level_change(subject, old.min_trust_level, new.min_trust_level, base, target, span)
        if old.consent != new.consent:
            out.append(
                _one(
                    subject,
                    "requires.consent",
                    _N if new.consent else _W,
                    "consent now required" if new.consent else "consent no longer required",
                    before=str(old.consent).lower(),
                    after=str(new.consent).lower(),
                    span=span,
                )
            )
        out += _condition_change(subject, old.condition, new.condition, span)
        return out

    return _pair_diff(
        base.elevations,
        target.elevations,
        key="id",
        prefix="elevation",
        added=lambda e: (
            _W,
            f"elevation added: {e.actor} may act for {_selector_text(e.subjects)} "
            f"on {_fmt(e.actions)}",
        ),
        removed=lambda e: (
            _N,
            f"elevation removed: {e.actor} no longer acts for {_selector_text(e.subjects)}",
        ),
        changed=changed,
    )


def _condition_change(subject: str, old: str | None, new: str | None, span: Span) -> list[Change]:
    if old == new:
        return []
    if new is None:
        impact, summary = _W, "condition removed"
    elif old is None:
        impact, summary = _N, "condition added"
    else:
        impact, summary = _Z, "condition changed (needs review)"
    return [_one(subject, "requires.condition", impact, summary, before=old, after=new, span=span)]


def _time_text(value: datetime | None) -> str | None:
    return value.isoformat().replace("+00:00", "Z") if value is not None else None


def _diff_delegations(base: Ledger, target: Ledger) -> list[Change]:
    def changed(old: Delegation, new: Delegation, subject: str) -> list[Change]:
        span = new.span
        out = _selector_changes(subject, "delegator", old.delegator, new.delegator, span)
        out += _actor_change(subject, "delegate", old.delegate, new.delegate, span)
        out += _set_changes(
            area="trust",
            subject=subject,
            field="scope.actions",
            before=old.actions,
            after=new.actions,
            span=span,
            noun="action",
        )
        out += _selector_changes(subject, "scope.resources", old.resources, new.resources, span)
        # A missing bound is open: no "from" = always valid before, no "until" = forever.
        if old.valid_from != new.valid_from:
            earlier = new.valid_from is None or (
                old.valid_from is not None and new.valid_from < old.valid_from
            )
            out.append(
                _one(
                    subject,
                    "valid.from",
                    _W if earlier else _N,
                    f"validity window {'starts earlier' if earlier else 'starts later'}",
                    before=_time_text(old.valid_from),
                    after=_time_text(new.valid_from),
                    span=span,
                )
            )
        if old.valid_until != new.valid_until:
            later = new.valid_until is None or (
                old.valid_until is not None and new.valid_until > old.valid_until
            )
            out.append(
                _one(
                    subject,
                    "valid.until",
                    _W if later else _N,
                    f"validity window {'extended' if later else 'shortened'}",
                    before=_time_text(old.valid_until),
                    after=_time_text(new.valid_until),
                    span=span,
                )
            )
        if old.consent_required != new.consent_required:
            out.append(
                _one(
                    subject,
                    "consent.required",
                    _N if new.consent_required else _W,
                    "consent now required"
                    if new.consent_required
                    else "consent no longer required",
                    before=str(old.consent_required).lower(),
                    after=str(new.consent_required).lower(),
                    span=span,
                )
            )
        # Dropping the requirement drops its issuer too: that is one change, not two.
        if old.consent_issuer != new.consent_issuer and new.consent_required:
            out.append(
                _one(
                    subject,
                    "consent.issuer",
                    _Z,
                    f"consent issuer changed: {old.consent_issuer} -> {new.consent_issuer}",
                    before=old.consent_issuer,
                    after=new.consent_issuer,
                    span=span,
                )
            )
        if old.max_depth != new.max_depth:
            up = new.max_depth > old.max_depth
            out.append(
                _one(
                    subject,
                    "max_depth",
                    _W if up else _N,
                    f"max_depth {'raised' if up else 'lowered'} "
                    f"from {old.max_depth} to {new.max_depth}",
                    before=old.max_depth,
                    after=new.max_depth,
                    span=span,
                )
            )
        return out

    return _pair_diff(
        base.delegations,
        target.delegations,
        key="id",
        prefix="delegation",
        added=lambda d: (
            _W,
            f"delegation added: {_selector_text(d.delegator)} -> {d.delegate} on {_fmt(d.actions)}",
        ),
        removed=lambda d: (
            _N,
            f"delegation removed: {_selector_text(d.delegator)} -> {d.delegate}",
        ),
        changed=changed,
    )


# ----------------------------------------------------------------------------------- issuers


def _key_ids(ledger: Ledger, path: str | None) -> set[str]:
    """Keys of a JWKS file, named by ``kid`` (or by their canonical JSON when kid-less)."""
    if path is None:
        return set()
    keys = ledger.key_set(path)
    if keys is None:
        return set()
    return {str(k["kid"]) if "kid" in k else json.dumps(k, sort_keys=True) for k in keys.keys}


def _diff_issuers(base: Ledger, target: Ledger) -> list[Change]:
    def changed(old: Issuer, new: Issuer, subject: str) -> list[Change]:
        span = new.span
        out = _set_changes(
            area="trust",
            subject=subject,
            field="algorithms",
            before=old.algorithms,
            after=new.algorithms,
            span=span,
            noun="algorithm",
        )
        out += _set_changes(
            area="trust",
            subject=subject,
            field="issues",
            before=old.issues,
            after=new.issues,
            span=span,
            noun="token kind",
        )
        out += _set_changes(
            area="trust",
            subject=subject,
            field="keys",
            before=sorted(_key_ids(base, old.jwks)),
            after=sorted(_key_ids(target, new.jwks)),
            span=span,
            noun="key",
        )
        if old.audience != new.audience:
            out.append(
                _one(
                    subject,
                    "audience",
                    _W if new.audience is None else _Z,
                    f"audience changed: {old.audience} -> {new.audience}",
                    before=old.audience,
                    after=new.audience,
                    span=span,
                )
            )
        return out

    return _pair_diff(
        base.issuers,
        target.issuers,
        key="name",
        prefix="issuer",
        added=lambda i: (_W, f"issuer added: may sign {_fmt(i.issues)} tokens"),
        removed=lambda i: (_N, "issuer removed"),
        changed=changed,
    )


def diff_trust(base: Ledger, target: Ledger) -> tuple[Change, ...]:
    """Every trust-model change from ``base`` to ``target``, classified."""
    return (
        *_diff_levels(base, target),
        *_diff_groups(base, target),
        *_diff_elevations(base, target),
        *_diff_delegations(base, target),
        *_diff_issuers(base, target),
    )


# ---------------------------------------------------------------------------------- manifest


def diff_manifest(base: Ledger, target: Ledger) -> tuple[Change, ...]:
    """Manifest settings changes: txn token, signature quorum, chain depth, ZTID, signers."""
    old, new = base.manifest, target.manifest
    if old is None or new is None:
        return ()
    span = new.span
    out: list[Change] = []

    def add(field: str, impact: Impact, summary: str, before: object, after: object) -> None:
        out.append(
            Change(
                area="manifest",
                subject="manifest",
                kind="changed",
                field=field,
                impact=impact,
                summary=summary,
                before=str(before).lower() if isinstance(before, bool) else str(before),
                after=str(after).lower() if isinstance(after, bool) else str(after),
                span=span,
            )
        )

    a, b = old.settings, new.settings
    if a.require_txn_token != b.require_txn_token:
        add(
            "settings.require_txn_token",
            _N if b.require_txn_token else _W,
            "transaction token now required"
            if b.require_txn_token
            else "transaction token no longer required",
            a.require_txn_token,
            b.require_txn_token,
        )
    if a.require_signatures != b.require_signatures:
        up = b.require_signatures > a.require_signatures
        add(
            "settings.require_signatures",
            _N if up else _W,
            f"required signatures {'raised' if up else 'lowered'} "
            f"from {a.require_signatures} to {b.require_signatures}",
            a.require_signatures,
            b.require_signatures,
        )
    if a.max_chain_depth != b.max_chain_depth:
        up = b.max_chain_depth > a.max_chain_depth
        add(
            "settings.max_chain_depth",
            _W if up else _N,
            f"max_chain_depth {'raised' if up else 'lowered'} "
            f"from {a.max_chain_depth} to {b.max_chain_depth}",
            a.max_chain_depth,
            b.max_chain_depth,
        )
    if old.ledger != new.ledger:
        add(
            "ledger",
            _Z,
            f"ledger ZTID changed: {old.ledger} -> {new.ledger}",
            old.ledger,
            new.ledger,
        )
    signers = _set_changes(
        area="manifest",
        subject="manifest",
        field="signers",
        before=sorted(_key_ids(base, old.signers)),
        after=sorted(_key_ids(target, new.signers)),
        span=span,
        noun="signer key",
    )
    out.extend(signers)
    return tuple(out)


# ------------------------------------------------------------------------- schema & entities


def diff_schema(base: Ledger, target: Ledger) -> tuple[Change, ...]:
    """A schema added, removed or edited (neutral: the policies' validation decides)."""
    old, new = base.schema_text, target.schema_text
    if old == new:
        return ()
    kind = "added" if old is None else "removed" if new is None else "changed"
    path = target.schema_path or base.schema_path or "schema"
    return (
        Change(
            area="schema",
            subject=f"schema/{path}",
            kind=kind,
            field=None,
            impact=_Z,
            summary=f"Cedar schema {kind}",
            span=Span(path=path),
        ),
    )


def _uid(raw: Mapping[str, Any]) -> str:
    return f'{raw.get("type")}::"{raw.get("id")}"'


def _entities(ledger: Ledger) -> dict[str, tuple[dict[str, Any], Span]]:
    out: dict[str, tuple[dict[str, Any], Span]] = {}
    for file in ledger.entity_files:
        for entity in file.entities:
            out[_uid(entity["uid"])] = (entity, file.span)
    return out


def _parents(entity: Mapping[str, Any]) -> set[str]:
    return {_uid(p) for p in entity.get("parents", ()) if isinstance(p, Mapping)}


def diff_entities(
    base: Ledger, target: Ledger, *, granting: frozenset[str] = frozenset()
) -> tuple[Change, ...]:
    """Cedar entities added, removed, or with changed attributes or parents.

    ``granting`` holds the entity uids (``Role::"admin"``) that some ``permit`` policy of the
    target names: gaining such a parent widens access, losing it narrows access.
    """
    old, new = _entities(base), _entities(target)
    out: list[Change] = []

    def entity_change(
        uid: str, kind: str, impact: Impact, summary: str, span: Span, **extra: Any
    ) -> None:
        out.append(
            Change(
                area="entity",
                subject=f"entity/{uid}",
                kind=kind,
                field=extra.pop("field", None),
                impact=impact,
                summary=summary,
                span=span,
                **extra,
            )
        )

    for uid in sorted(new.keys() - old.keys()):
        entity, span = new[uid]
        grants = sorted(_parents(entity) & granting)
        entity_change(
            uid,
            "added",
            _W if grants else _Z,
            "entity added" + (f" as member of {_fmt(grants)}" if grants else ""),
            span,
        )
    for uid in sorted(old.keys() - new.keys()):
        entity, span = old[uid]
        grants = sorted(_parents(entity) & granting)
        entity_change(
            uid,
            "removed",
            _N if grants else _Z,
            "entity removed" + (f" (was member of {_fmt(grants)})" if grants else ""),
            span,
        )
    for uid in sorted(old.keys() & new.keys()):
        (a, _), (b, span) = old[uid], new[uid]
        pa, pb = _parents(a), _parents(b)
        for parent in sorted(pb - pa):
            names_it = parent in granting
            entity_change(
                uid,
                "changed",
                _W if names_it else _Z,
                f"parent {parent} added" + (" (a permit policy names it)" if names_it else ""),
                span,
                field="parents",
                after=parent,
            )
        for parent in sorted(pa - pb):
            names_it = parent in granting
            entity_change(
                uid,
                "changed",
                _N if names_it else _Z,
                f"parent {parent} removed" + (" (a permit policy names it)" if names_it else ""),
                span,
                field="parents",
                before=parent,
            )
        attrs_a, attrs_b = a.get("attrs", {}) or {}, b.get("attrs", {}) or {}
        for name in sorted(set(attrs_a) | set(attrs_b)):
            if attrs_a.get(name, _MISSING) == attrs_b.get(name, _MISSING):
                continue
            before = json.dumps(attrs_a[name], sort_keys=True) if name in attrs_a else None
            after = json.dumps(attrs_b[name], sort_keys=True) if name in attrs_b else None
            verb = "added" if before is None else "removed" if after is None else "changed"
            entity_change(
                uid,
                "changed",
                _Z,
                f"attribute {name!r} {verb}",
                span,
                field=f"attrs.{name}",
                before=before,
                after=after,
            )
    return tuple(out)


_MISSING = object()
