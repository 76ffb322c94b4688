"""Trust, entity, schema and manifest changes between two ledgers, with their security meaning.

Pure functions over two :class:`Ledger` values. Each change is classified (DESIGN.md,
"Workload governance" and "Delegation first"): anything that lets a workload or a delegate do
more, or with fewer proofs, is ``widening``; anything that takes access away is ``narrowing``;
a change whose effect cannot be derived (a new condition text, a new issuer URL) is
``neutral`` and left to the reviewer.

Records of the same kind (elevations, delegations, issuers...) are compared field by field
from one table of ``(field, value getter, comparison)``: a comparison is one of a few shared
functions (an id set, an entity selector, a requirement switched on or off, a number raised or
lowered, a validity bound moved) that knows the security meaning of its kind of value.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Callable, Iterable, Mapping, Sequence
from datetime import datetime, timedelta
from operator import attrgetter
from typing import Any

from ztauth_cli.diff.model import Change, Impact
from ztauth_cli.model import (
    ActorRef,
    EntitySelector,
    Ledger,
    RequestEntityRule,
    SecurityGroup,
    Span,
)
from ztauth_cli.model.globs import glob_covers

__all__ = ["diff_entities", "diff_manifest", "diff_schema", "diff_trust", "is_covered"]

_W, _N, _Z = Impact.WIDENING, Impact.NARROWING, Impact.NEUTRAL


def is_covered(pattern: str, patterns: Iterable[str]) -> bool:
    """True when every id matched by ``pattern`` is matched by one of ``patterns``.

    The engine's glob semantics (:mod:`ztauth_cli.model.globs`: ``*`` within one ``/``
    segment, ``**`` across), conservatively: ``a/x/*`` is not covered by ``a/*`` and ``a/**``
    is not covered by ``a/*``, so replacing one by the other shows as widening.
    """
    return any(glob_covers(other, pattern) for other in patterns)


def _fmt(items: Iterable[str]) -> str:
    return ", ".join(sorted(items)) or "(none)"


def _text(value: object) -> str | None:
    """A value as output text: ``None`` stays absent, booleans are YAML's ``true``/``false``."""
    if value is None:
        return None
    return str(value).lower() if isinstance(value, bool) else str(value)


def _one(
    subject: str,
    field: str,
    impact: Impact,
    summary: str,
    *,
    before: object,
    after: object,
    span: Span | None,
    area: str = "trust",
) -> Change:
    return Change(
        area=area,
        subject=subject,
        kind="changed",
        field=field,
        impact=impact,
        summary=summary,
        before=_text(before),
        after=_text(after),
        span=span,
    )


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
            _one(
                subject,
                field,
                _W if lifted else _N,
                f"{noun}s no longer restricted (any)"
                if lifted
                else f"{noun}s restricted to {_fmt(new)}",
                before=_fmt(old) if old else "any",
                after=_fmt(new) if new else "any",
                span=span,
                area=area,
            )
        ]
    changes = []
    # (items, the other side, impact, summary, note when covered, side the item is on)
    sides = (
        (new - old, old, added_is, added_text, " (already covered)", "after"),
        (old - new, new, removed_is, removed_text, " (still covered)", "before"),
    )
    for items, other, impact, text, note, side in sides:
        for item in sorted(items):
            covered = is_covered(item, other)
            changes.append(
                Change(
                    area=area,
                    subject=subject,
                    kind="changed",
                    field=field,
                    impact=_Z if covered else impact,
                    summary=text.format(noun=noun, item=item) + (note if covered else ""),
                    span=span,
                    **{side: item},
                )
            )
    return changes


# ------------------------------------------------------------------ comparisons of one field
#
# A comparison takes (subject, field, old value, new value, span) and returns the changes.

_Compare = Callable[[str, str, Any, Any, Span | None], list[Change]]
_Row = tuple[str, Callable[[Any], Any], _Compare]


def _compare_rows(rows: Sequence[_Row], old: Any, new: Any, subject: str) -> list[Change]:
    """Every change between two records of one kind, field by field, in table order; each
    placed at the changed field's line (:func:`_placed`)."""
    out: list[Change] = []
    for field, value, compare in rows:
        changes = compare(subject, field, value(old), value(new), new.span)
        out.extend(_placed(change, field, value, old, new) for change in changes)
    return out


# A diff field whose YAML key has another name.
_YAML_KEYS = {"keys": "jwks"}


def _placed(change: Change, row: str, value: Callable[[Any], Any], old: Any, new: Any) -> Change:
    """``change`` pointed at the field it is about: in the target document, or in the base
    one for a value that is gone (an item removed, a requirement or bound dropped).

    An item of a list (a member, an action, an id) points at the item itself; otherwise the
    field's key, else the closest enclosing key that exists, else the document.
    """
    gone = change.after is None and change.before is not None
    document = old if gone else new
    spans: Mapping[str, Span] = getattr(document, "fields", None) or {}
    path = _YAML_KEYS.get(change.field or row, change.field or row)
    item = change.before if gone else change.after
    # The list the item is in: the row's value, or an attribute of it (``subjects.ids``).
    holder = value(document)
    if change.field and change.field != row and change.field.startswith(f"{row}."):
        holder = getattr(holder, change.field[len(row) + 1 :], None)
    candidates: list[str] = []
    if item is not None and isinstance(holder, tuple) and item in holder:
        candidates.append(f"{path}.{holder.index(item)}")
    parts = path.split(".")
    candidates += [".".join(parts[:end]) for end in range(len(parts), 0, -1)]
    for candidate in candidates:
        span = spans.get(candidate)
        if span is not None:
            return dataclasses.replace(change, span=span)
    return dataclasses.replace(change, span=document.span)


def _ids(noun: str, *, area: str = "trust") -> _Compare:
    """A set of ids or globs: an added item widens, a removed one narrows."""

    def compare(
        subject: str, field: str, old: Sequence[str], new: Sequence[str], span: Span | None
    ) -> list[Change]:
        return _set_changes(
            area=area, subject=subject, field=field, before=old, after=new, span=span, noun=noun
        )

    return compare


def _requirement(noun: str, *, area: str = "trust") -> _Compare:
    """A proof switched on (narrowing) or off (widening)."""

    def compare(subject: str, field: str, old: bool, new: bool, span: Span | None) -> list[Change]:
        if old == new:
            return []
        return [
            _one(
                subject,
                field,
                _N if new else _W,
                f"{noun} now required" if new else f"{noun} no longer required",
                before=old,
                after=new,
                span=span,
                area=area,
            )
        ]

    return compare


def _ordered(label: str, *, raised_is: Impact, area: str = "trust") -> _Compare:
    """A number where raising it has the impact ``raised_is`` (lowering it the opposite)."""
    lowered_is = _N if raised_is is _W else _W

    def compare(subject: str, field: str, old: int, new: int, span: Span | None) -> list[Change]:
        if old == new:
            return []
        up = new > old
        return [
            _one(
                subject,
                field,
                raised_is if up else lowered_is,
                f"{label} {'raised' if up else 'lowered'} from {old} to {new}",
                before=old,
                after=new,
                span=span,
                area=area,
            )
        ]

    return compare


def _neutral(text: str, *, area: str = "trust") -> _Compare:
    """A value whose change has no derivable effect (an issuer URL, a ZTID)."""

    def compare(
        subject: str, field: str, old: object, new: object, span: Span | None
    ) -> list[Change]:
        if old == new:
            return []
        summary = f"{text} changed: {old} -> {new}"
        return [_one(subject, field, _Z, summary, before=old, after=new, span=span, area=area)]

    return compare


def _bound(wider: Callable[[datetime, datetime], bool], texts: tuple[str, str]) -> _Compare:
    """One bound of a validity window; a missing bound is open (the widest).

    ``wider(old, new)`` tells whether the new bound lets more times in; ``texts`` are the
    summaries for (wider, narrower).
    """

    def compare(
        subject: str, field: str, old: datetime | None, new: datetime | None, span: Span | None
    ) -> list[Change]:
        if old == new:
            return []
        widened = new is None or (old is not None and wider(old, new))
        return [
            _one(
                subject,
                field,
                _W if widened else _N,
                f"validity window {texts[0] if widened else texts[1]}",
                before=_time_text(old),
                after=_time_text(new),
                span=span,
            )
        ]

    return compare


def _actor_change(
    subject: str, field: str, old: ActorRef, new: ActorRef, span: Span | None
) -> list[Change]:
    if old == new:
        return []
    summary = f"{field} changed from {old} to {new}"
    return [_one(subject, field, _Z, summary, before=old, after=new, span=span)]


def _selector_changes(
    subject: str,
    field: str,
    old: EntitySelector | None,
    new: EntitySelector | None,
    span: Span | None,
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


def _condition_change(
    subject: str, field: str, old: str | None, new: str | None, span: Span | None
) -> list[Change]:
    if old == new:
        return []
    if new is None:
        impact, summary = _W, "condition removed"
    elif old is None:
        impact, summary = _N, "condition added"
    else:
        impact, summary = _Z, "condition changed (needs review)"
    return [_one(subject, field, impact, summary, before=old, after=new, span=span)]


def _consent_issuer(
    subject: str,
    field: str,
    old: tuple[bool, str | None],
    new: tuple[bool, str | None],
    span: Span | None,
) -> list[Change]:
    # Dropping the requirement drops its issuer too: that is one change, not two.
    if not new[0]:
        return []
    return _neutral("consent issuer")(subject, field, old[1], new[1], span)


def _selector_text(selector: EntitySelector | None) -> str:
    if selector is None:
        return "any"
    ids = f" {_fmt(selector.ids)}" if selector.ids else ""
    return f"{selector.type or 'any type'}{ids}"


def _time_text(value: datetime | None) -> str | None:
    return value.isoformat().replace("+00:00", "Z") if value is not None else None


def _fmt_age(value: timedelta) -> str:
    seconds = int(value.total_seconds())
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        if seconds and seconds % size == 0:
            return f"{seconds // size}{unit}"
    return f"{seconds}s"


def _rank(name: str | None, *ledgers: Ledger) -> int | None:
    if name is None:
        return None
    for ledger in ledgers:
        level = ledger.trust_level(name)
        if level is not None:
            return level.rank
    return None


def _min_level(base: Ledger, target: Ledger) -> _Compare:
    """An elevation's ``min_trust_level``: a lower bar (by rank) widens, a higher one narrows."""

    def compare(
        subject: str, field: str, old: str | None, new: str | None, span: Span | None
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
        else:
            lowered = after < before
            impact = _W if lowered else _N
            summary = (
                f"min_trust_level {'lowered' if lowered else 'raised'} from {old} (rank {before}) "
                f"to {new} (rank {after})"
            )
        return [_one(subject, field, impact, summary, before=old, after=new, span=span)]

    return compare


# ------------------------------------------------------------------------- records by key


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
    old = {getattr(item, key): item for item in base}
    new = {getattr(item, key): item for item in target}
    out: list[Change] = []
    for kind, names, side, describe in (
        ("added", new.keys() - old.keys(), new, added),
        ("removed", old.keys() - new.keys(), old, removed),
    ):
        for name in sorted(names):
            impact, summary = describe(side[name])
            out.append(
                Change(
                    area="trust",
                    subject=f"{prefix}/{name}",
                    kind=kind,
                    field=None,
                    impact=impact,
                    summary=summary,
                    span=side[name].span,
                )
            )
    for name in sorted(old.keys() & new.keys()):
        out.extend(changed(old[name], new[name], f"{prefix}/{name}"))
    return out


# ------------------------------------------------------------------------------- trust levels


def _attestation(subject: str, field: str, old: Any, new: Any, span: Span | None) -> list[Change]:
    if old is None and new is None:
        return []
    if old is None or new is None:
        required = new is not None
        return [
            _one(
                subject,
                field,
                _N if required else _W,
                "attestation now required" if required else "attestation no longer required",
                before=None if old is None else f"max_age {_fmt_age(old.max_age)} by {old.issuer}",
                after=None if new is None else f"max_age {_fmt_age(new.max_age)} by {new.issuer}",
                span=span,
            )
        ]
    out = []
    if old.max_age != new.max_age:
        longer = new.max_age > old.max_age
        out.append(
            _one(
                subject,
                f"{field}.max_age",
                _W if longer else _N,
                f"attestation max_age {'longer' if longer else 'shorter'}: "
                f"{_fmt_age(old.max_age)} -> {_fmt_age(new.max_age)}",
                before=_fmt_age(old.max_age),
                after=_fmt_age(new.max_age),
                span=span,
            )
        )
    out += _neutral("attestation issuer")(subject, f"{field}.issuer", old.issuer, new.issuer, span)
    return out


_LEVEL_FIELDS: tuple[_Row, ...] = (
    # Groups at this level now satisfy more (or fewer) min_trust_level requirements.
    ("rank", attrgetter("rank"), _ordered("rank", raised_is=_W)),
    ("requires.attestation", attrgetter("attestation"), _attestation),
)


def _diff_levels(base: Ledger, target: Ledger) -> list[Change]:
    return _pair_diff(
        base.trust_levels,
        target.trust_levels,
        key="name",
        prefix="trust_level",
        added=lambda t: (_Z, f"trust level added (rank {t.rank})"),
        removed=lambda t: (_N, f"trust level removed (rank {t.rank})"),
        changed=lambda old, new, subject: _compare_rows(_LEVEL_FIELDS, old, new, subject),
    )


# ------------------------------------------------------------------------------------ groups


def _group_level(base: Ledger, target: Ledger) -> _Compare:
    """A group moved to another trust level: up (by rank) widens, down narrows."""

    def compare(subject: str, field: str, old: str, new: str, span: Span | None) -> list[Change]:
        if old == new:
            return []
        before, after = _rank(old, target, base), _rank(new, target)
        if before is None or after is None or before == after:
            impact, how = _Z, "moved"
        else:
            impact, how = (_W, "moved up") if after > before else (_N, "moved down")
        summary = f"{how} from trust level {old} (rank {before}) to {new} (rank {after})"
        return [_one(subject, field, impact, summary, before=old, after=new, span=span)]

    return compare


def _revocations(
    subject: str, field: str, old: Sequence[str], new: Sequence[str], span: Span | None
) -> list[Change]:
    return _set_changes(
        area="trust",
        subject=subject,
        field=field,
        before=old,
        after=new,
        span=span,
        noun="revocation",
        added_is=_N,
        added_text="{item!r} revoked",
        removed_text="revocation of {item!r} lifted",
    )


def _diff_groups(base: Ledger, target: Ledger) -> list[Change]:
    rows: tuple[_Row, ...] = (
        ("members", attrgetter("members"), _ids("member")),
        ("revoked", attrgetter("revoked"), _revocations),
        ("trust_level", attrgetter("trust_level"), _group_level(base, target)),
    )

    def added(g: SecurityGroup) -> tuple[Impact, str]:
        summary = (
            f"security group added at trust level {g.trust_level} with members {_fmt(g.members)}"
        )
        return (_W if g.members else _Z, summary)

    return _pair_diff(
        base.groups,
        target.groups,
        key="name",
        prefix="group",
        added=added,
        removed=lambda g: (_N, f"security group removed (trust level {g.trust_level})"),
        changed=lambda old, new, subject: _compare_rows(rows, old, new, subject),
    )


# ----------------------------------------------------------------------- elevation/delegation


def _diff_elevations(base: Ledger, target: Ledger) -> list[Change]:
    rows: tuple[_Row, ...] = (
        ("actor", attrgetter("actor"), _actor_change),
        ("subjects", attrgetter("subjects"), _selector_changes),
        ("actions", attrgetter("actions"), _ids("action")),
        ("resources", attrgetter("resources"), _selector_changes),
        ("requires.min_trust_level", attrgetter("min_trust_level"), _min_level(base, target)),
        ("requires.consent", attrgetter("consent"), _requirement("consent")),
        ("requires.condition", attrgetter("condition"), _condition_change),
    )
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
        changed=lambda old, new, subject: _compare_rows(rows, old, new, subject),
    )


_DELEGATION_FIELDS: tuple[_Row, ...] = (
    ("delegator", attrgetter("delegator"), _selector_changes),
    ("delegate", attrgetter("delegate"), _actor_change),
    ("scope.actions", attrgetter("actions"), _ids("action")),
    ("scope.resources", attrgetter("resources"), _selector_changes),
    # A missing bound is open: no "from" = always valid before, no "until" = forever.
    (
        "valid.from",
        attrgetter("valid_from"),
        _bound(lambda o, n: n < o, ("starts earlier", "starts later")),
    ),
    (
        "valid.until",
        attrgetter("valid_until"),
        _bound(lambda o, n: n > o, ("extended", "shortened")),
    ),
    ("consent.required", attrgetter("consent_required"), _requirement("consent")),
    ("consent.issuer", attrgetter("consent_required", "consent_issuer"), _consent_issuer),
    ("max_depth", attrgetter("max_depth"), _ordered("max_depth", raised_is=_W)),
)


def _diff_delegations(base: Ledger, target: Ledger) -> list[Change]:
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
        changed=lambda old, new, subject: _compare_rows(_DELEGATION_FIELDS, old, new, subject),
    )


# ----------------------------------------------------------------------------------- issuers


def _key_ids(ledger: Ledger, path: str | None) -> list[str]:
    """Keys of a JWKS file, named by ``kid`` (or by their canonical JSON when kid-less)."""
    keys = ledger.key_set(path) if path is not None else None
    if keys is None:
        return []
    return sorted(
        {str(k["kid"]) if "kid" in k else json.dumps(k, sort_keys=True) for k in keys.keys}
    )


def _keys(base: Ledger, target: Ledger, noun: str, *, area: str = "trust") -> _Compare:
    """The keys of the JWKS file each side names (old side read in base, new side in target)."""

    def compare(
        subject: str, field: str, old: str | None, new: str | None, span: Span | None
    ) -> list[Change]:
        return _ids(noun, area=area)(
            subject, field, _key_ids(base, old), _key_ids(target, new), span
        )

    return compare


def _audience(
    subject: str, field: str, old: str | None, new: str | None, span: Span | None
) -> list[Change]:
    if old == new:
        return []
    # No audience: tokens minted for any audience are accepted.
    impact = _W if new is None else _Z
    summary = f"audience changed: {old} -> {new}"
    return [_one(subject, field, impact, summary, before=old, after=new, span=span)]


def _diff_issuers(base: Ledger, target: Ledger) -> list[Change]:
    rows: tuple[_Row, ...] = (
        ("algorithms", attrgetter("algorithms"), _ids("algorithm")),
        ("issues", attrgetter("issues"), _ids("token kind")),
        ("keys", attrgetter("jwks"), _keys(base, target, "key")),
        ("audience", attrgetter("audience"), _audience),
    )
    return _pair_diff(
        base.issuers,
        target.issuers,
        key="name",
        prefix="issuer",
        added=lambda i: (_W, f"issuer added: may sign {_fmt(i.issues)} tokens"),
        removed=lambda i: (_N, "issuer removed"),
        changed=lambda old, new, subject: _compare_rows(rows, old, new, subject),
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
    """Manifest settings changes: txn token, signature quorum, chain depth, request entities,
    ZTID, signers."""
    old, new = base.manifest, target.manifest
    if old is None or new is None:
        return ()
    area = "manifest"
    rows: tuple[_Row, ...] = (
        (
            "settings.require_txn_token",
            lambda m: m.settings.require_txn_token,
            _requirement("transaction token", area=area),
        ),
        (
            "settings.require_signatures",
            lambda m: m.settings.require_signatures,
            _ordered("required signatures", raised_is=_N, area=area),
        ),
        (
            "settings.max_chain_depth",
            lambda m: m.settings.max_chain_depth,
            _ordered("max_chain_depth", raised_is=_W, area=area),
        ),
        (
            "settings.request_entities",
            lambda m: m.settings.request_entities,
            _request_entities(area=area),
        ),
        ("ledger", attrgetter("ledger"), _neutral("ledger ZTID", area=area)),
        ("signers", attrgetter("signers"), _keys(base, target, "signer key", area=area)),
    )
    return tuple(_compare_rows(rows, old, new, "manifest"))


def _allowed(rules: Sequence[RequestEntityRule], type_: str) -> set[str]:
    """What a request may give an unknown entity of ``type_`` under ``rules``."""
    by_type = {r.type: r for r in rules}
    rule = by_type.get(type_, by_type.get("*"))
    if rule is None:
        return set()
    return {n for n, on in (("attributes", rule.attributes), ("parents", rule.parents)) if on}


def _request_entities(*, area: str) -> _Compare:
    """What requests may describe, per entity type: more is widening, less narrowing."""

    def compare(
        subject: str,
        field: str,
        old: Sequence[RequestEntityRule],
        new: Sequence[RequestEntityRule],
        span: Span | None,
    ) -> list[Change]:
        if old == new:
            return []
        out: list[Change] = []
        for type_ in sorted({r.type for r in (*old, *new)} | {"*"}):
            before, after = _allowed(old, type_), _allowed(new, type_)
            kind = "entities of other types" if type_ == "*" else f"{type_} entities"
            for impact, names, verb in (
                (_W, after - before, "may now"),
                (_N, before - after, "may no longer"),
            ):
                if names:
                    out.append(
                        _one(
                            subject,
                            field,
                            impact,
                            f"requests {verb} give new {kind} {' and '.join(sorted(names))}",
                            before=_fmt(sorted(before)),
                            after=_fmt(sorted(after)),
                            span=span,
                            area=area,
                        )
                    )
        return out

    return compare


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

    # An entity (or a parent link) matters for access only when a permit policy names the
    # parent it brings: gaining such a parent widens access, losing it narrows access.
    for kind, uids, side, impact, grant_text in (
        ("added", new.keys() - old.keys(), new, _W, " as member of {}"),
        ("removed", old.keys() - new.keys(), old, _N, " (was member of {})"),
    ):
        for uid in sorted(uids):
            entity, span = side[uid]
            grants = sorted(_parents(entity) & granting)
            note = grant_text.format(_fmt(grants)) if grants else ""
            entity_change(uid, kind, impact if grants else _Z, f"entity {kind}{note}", span)
    for uid in sorted(old.keys() & new.keys()):
        (a, _), (b, span) = old[uid], new[uid]
        pa, pb = _parents(a), _parents(b)
        for verb, parents, impact, value_side in (
            ("added", pb - pa, _W, "after"),
            ("removed", pa - pb, _N, "before"),
        ):
            for parent in sorted(parents):
                names_it = parent in granting
                entity_change(
                    uid,
                    "changed",
                    impact if names_it else _Z,
                    f"parent {parent} {verb}" + (" (a permit policy names it)" if names_it else ""),
                    span,
                    field="parents",
                    **{value_side: parent},
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
