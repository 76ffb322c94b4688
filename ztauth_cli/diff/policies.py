"""Cedar policies added, removed or changed, compared by meaning and keyed by ``@id``.

Two policies are the same when Cedar's JSON form (EST) is the same: reformatting, comments and
moving a policy to another file change nothing. A change is classified from the effect and
from whether the scope and conditions grew or shrank: a broader ``permit`` (or a narrower
``forbid``) widens access.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from ztauth_cli.diff.model import Impact, PolicyChange
from ztauth_cli.engine.cedar import (
    CedarPolicy,
    parse_policy_files,
    policies_by_key,
    policy_json,
)
from ztauth_cli.model import Ledger

__all__ = ["ParsedPolicy", "diff_policies", "granting_entities", "parse_ledger_policies"]

_W, _N, _Z = Impact.WIDENING, Impact.NARROWING, Impact.NEUTRAL
_SLOTS = ("principal", "action", "resource")


@dataclass(frozen=True, slots=True, kw_only=True)
class ParsedPolicy:
    """A policy's key (``@id``), the parsed policy and its Cedar JSON form (no annotations)."""

    key: str
    policy: CedarPolicy
    # Cedar's EST is a foreign JSON form, compared as-is.
    est: dict[str, Any]


def parse_ledger_policies(ledger: Ledger) -> dict[str, ParsedPolicy]:
    """Every policy of ``ledger`` by ``@id`` (``<file>:<line>`` when it has none).

    Raises:
        DocumentError: the first policy Cedar cannot parse, at its file and line; a duplicate
            ``@id`` (the engine's check, :func:`~ztauth_cli.engine.cedar.policies_by_key`).
    """
    policies, errors = parse_policy_files(ledger.policy_files)
    if errors:
        raise errors[0]
    out: dict[str, ParsedPolicy] = {}
    for key, policy in policies_by_key(policies).items():
        est = dict(policy_json(policy))
        est.pop("annotations", None)
        out[key] = ParsedPolicy(key=key, policy=policy, est=est)
    return out


def _entity(raw: Any) -> str:
    if isinstance(raw, Mapping):
        inner = raw.get("__entity", raw)
        if isinstance(inner, Mapping) and "type" in inner and "id" in inner:
            return f'{inner["type"]}::"{inner["id"]}"'
    return json.dumps(raw, sort_keys=True)


def scope_text(slot: str, scope: Mapping[str, Any]) -> str:
    """A Cedar-like rendering of one scope slot (``action in [Action::"read"]``)."""
    op = scope.get("op")
    if op == "All":
        return slot
    if "entities" in scope:
        return f"{slot} {op} [{', '.join(_entity(e) for e in scope['entities'])}]"
    if op == "is":
        text = f"{slot} is {scope.get('entity_type')}"
        if "in" in scope:
            text += f" in {_entity(scope['in'].get('entity'))}"
        return text
    if "entity" in scope:
        return f"{slot} {op} {_entity(scope['entity'])}"
    return f"{slot} {op} {json.dumps(scope, sort_keys=True)}"


def _action_set(scope: Mapping[str, Any]) -> frozenset[str] | None:
    """The actions a scope names; ``None`` when it cannot be enumerated (``All``, groups)."""
    if scope.get("op") == "==" and "entity" in scope:
        return frozenset({_entity(scope["entity"])})
    if scope.get("op") == "in" and "entities" in scope:
        return frozenset(_entity(e) for e in scope["entities"])
    return None


def _slot_breadth(slot: str, old: Mapping[str, Any], new: Mapping[str, Any]) -> int | None:
    """+1 broader, -1 narrower, 0 same, None when it cannot be told."""
    if old == new:
        return 0
    if new.get("op") == "All":
        return 1
    if old.get("op") == "All":
        return -1
    if slot == "action":
        a, b = _action_set(old), _action_set(new)
        if a is not None and b is not None:
            if a < b:
                return 1
            if b < a:
                return -1
    return None


def _canonical(items: Iterable[Any]) -> list[str]:
    return [json.dumps(item, sort_keys=True) for item in items]


def _conditions_breadth(old: Sequence[Any], new: Sequence[Any]) -> int | None:
    a, b = _canonical(old), _canonical(new)
    if a == b:
        return 0
    sa, sb = set(a), set(b)
    if sb < sa:
        return 1  # fewer conditions: the policy applies more often
    if sa < sb:
        return -1
    return None


def _breadth(old: Mapping[str, Any], new: Mapping[str, Any]) -> tuple[int | None, list[str]]:
    aspects: list[str] = []
    verdicts: list[int | None] = []
    for slot in _SLOTS:
        verdict = _slot_breadth(slot, old.get(slot, {}), new.get(slot, {}))
        if verdict != 0:
            aspects.append(slot)
            verdicts.append(verdict)
    verdict = _conditions_breadth(old.get("conditions", ()), new.get("conditions", ()))
    if verdict != 0:
        aspects.append("conditions")
        verdicts.append(verdict)
    if not verdicts or None in verdicts or (1 in verdicts and -1 in verdicts):
        return None, aspects
    return (1 if 1 in verdicts else -1), aspects


def _describe(est: Mapping[str, Any]) -> str:
    scopes = ", ".join(scope_text(slot, est.get(slot, {"op": "All"})) for slot in _SLOTS)
    conditions = len(est.get("conditions", ()))
    suffix = f" with {conditions} condition{'s' if conditions != 1 else ''}" if conditions else ""
    return f"{est.get('effect')}({scopes}){suffix}"


def diff_policies(
    base: Mapping[str, ParsedPolicy], target: Mapping[str, ParsedPolicy]
) -> tuple[PolicyChange, ...]:
    """Policies added, removed or changed in meaning, sorted by ``@id``."""
    out: list[PolicyChange] = []
    for key in sorted(base.keys() | target.keys()):
        old, new = base.get(key), target.get(key)
        if old is not None and new is not None:
            if old.est != new.est:
                out.append(_changed(key, old, new))
            continue
        # Only on one side: a permit added (or a forbid removed) widens access.
        kind, only = ("added", new) if old is None else ("removed", old)
        if only is None:
            continue
        widens = (only.est.get("effect") == "permit") == (kind == "added")
        text = only.policy.text.strip()
        out.append(
            PolicyChange(
                id=key,
                kind=kind,
                impact=_W if widens else _N,
                summary=f"{kind}: {_describe(only.est)}",
                aspects=(),
                before=text if kind == "removed" else None,
                after=text if kind == "added" else None,
                span=only.policy.span,
            )
        )
    return tuple(out)


def _changed(key: str, old: ParsedPolicy, new: ParsedPolicy) -> PolicyChange:
    effect_old, effect_new = old.est.get("effect"), new.est.get("effect")
    verdict, aspects = _breadth(old.est, new.est)
    if effect_old != effect_new:
        aspects.insert(0, "effect")
        impact = _W if effect_new == "permit" else _N
        summary = f"effect {effect_old} -> {effect_new}"
    elif verdict is None:
        impact, summary = _Z, "changed (needs review)"
    else:
        broader = verdict > 0
        impact = _W if broader == (effect_new == "permit") else _N
        summary = f"{effect_new} {'broadened' if broader else 'narrowed'}"
    details = [
        f"{slot}: {scope_text(slot, old.est.get(slot, {}))} -> "
        f"{scope_text(slot, new.est.get(slot, {}))}"
        for slot in _SLOTS
        if slot in aspects
    ]
    if "conditions" in aspects:
        details.append(
            f"conditions: {len(old.est.get('conditions', ()))} -> "
            f"{len(new.est.get('conditions', ()))}"
        )
    if details:
        summary += f" ({'; '.join(details)})"
    return PolicyChange(
        id=key,
        kind="changed",
        impact=impact,
        summary=summary,
        aspects=tuple(aspects),
        before=old.policy.text.strip(),
        after=new.policy.text.strip(),
        span=new.policy.span,
    )


def _entity_refs(node: Any, out: set[str]) -> None:
    if isinstance(node, Mapping):
        inner = node.get("__entity")
        if isinstance(inner, Mapping) and "type" in inner and "id" in inner:
            out.add(f'{inner["type"]}::"{inner["id"]}"')
        elif {"type", "id"} <= node.keys() and all(
            isinstance(node[k], str) for k in ("type", "id")
        ):
            out.add(f'{node["type"]}::"{node["id"]}"')
        for value in node.values():
            _entity_refs(value, out)
    elif isinstance(node, list):
        for value in node:
            _entity_refs(value, out)


def granting_entities(policies: Mapping[str, ParsedPolicy]) -> frozenset[str]:
    """Entity uids named anywhere in a ``permit`` policy (``principal in Role::"admin"``)."""
    out: set[str] = set()
    for parsed in policies.values():
        if parsed.est.get("effect") == "permit":
            _entity_refs({k: v for k, v in parsed.est.items() if k in (*_SLOTS, "conditions")}, out)
    return frozenset(out)
