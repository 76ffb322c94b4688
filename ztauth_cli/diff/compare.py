"""The whole diff between two ledgers, and the semantic-version bump it calls for."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from datetime import datetime
from typing import TYPE_CHECKING, Any

from ztauth_cli.diff.model import BumpDecision, DiffReport, Impact, RevisionInfo
from ztauth_cli.diff.policies import diff_policies, granting_entities, parse_ledger_policies
from ztauth_cli.diff.replay import ReplayItem, replay, suite_items
from ztauth_cli.diff.trust import diff_entities, diff_manifest, diff_schema, diff_trust
from ztauth_cli.model import Ledger

if TYPE_CHECKING:
    from ztauth_cli.engine import Evaluator

__all__ = ["WORKING_TREE", "derive_bump", "diff_ledgers"]

WORKING_TREE = "working tree"


def _issuer_keys(
    ledger: Ledger, fresh: Mapping[str, Sequence[Mapping[str, Any]]]
) -> dict[str, list[dict[str, Any]]]:
    """The run's fresh key of each issuer, next to the ledger's own keys of that issuer.

    ``issuer_keys`` replaces an issuer's JWKS, so the ledger's keys are kept beside the fresh
    one: tokens recorded in a requests file still verify. Keys are picked by ``kid``, so the
    suites' ``signed_by: untrusted`` twin (same kid, other key) still fails.
    """
    out: dict[str, list[dict[str, Any]]] = {}
    for name, keys in fresh.items():
        issuer = ledger.issuer(name)
        own = ledger.key_set(issuer.jwks) if issuer is not None else None
        out[name] = [dict(k) for k in keys] + [dict(k) for k in (own.keys if own else ())]
    return out


def _evaluator(ledger: Ledger, keys: Mapping[str, Sequence[Mapping[str, Any]]]) -> Evaluator:
    from ztauth_cli.engine import Evaluator

    # Signatures are not checked here: the diff shows what the change means, and an unsigned
    # pull request would otherwise deny everything. `policy verify` checks signatures.
    return Evaluator.from_ledger(
        ledger, issuer_keys=_issuer_keys(ledger, keys), revision=ledger.revision
    )


def diff_ledgers(
    base: Ledger,
    target: Ledger,
    *,
    now: datetime,
    requests: Sequence[ReplayItem] = (),
    base_label: str = "HEAD",
    target_label: str = WORKING_TREE,
    progress: Callable[[int], Callable[[], None] | None] | None = None,
) -> DiffReport:
    """Compare two ledgers: structure, trust model, and the decisions of every test case and
    request replayed against both.

    ``now`` is the clock of suites without ``at`` and of requests without a recorded time.
    ``progress``, given the number of items to replay, may return a callback ticked per item.

    Raises:
        DocumentError: a ledger whose policies, schema or entities cannot be used.
        ZtauthError: the JOSE layer cannot mint the suites' tokens.
    """
    base_policies = parse_ledger_policies(base)
    target_policies = parse_ledger_policies(target)
    policies = diff_policies(base_policies, target_policies)
    granting = granting_entities(base_policies) | granting_entities(target_policies)
    changes = (
        *diff_manifest(base, target),
        *diff_trust(base, target),
        *diff_schema(base, target),
        *diff_entities(base, target, granting=granting),
    )
    cases, base_keys, target_keys, skipped = suite_items(base, target, now=now)
    items = (*cases, *requests)
    base_eval = _evaluator(base, base_keys)
    target_eval = _evaluator(target, target_keys)
    tick = progress(len(items)) if progress is not None else None
    result = replay(items, base_eval, target_eval, now=now, progress=tick)
    return DiffReport(
        base=RevisionInfo(label=base_label, commit=base.revision),
        target=RevisionInfo(label=target_label, commit=target.revision),
        policies=policies,
        changes=changes,
        flips=result.flips,
        evaluated=result.evaluated,
        skipped=skipped,
    )


def derive_bump(base: Ledger, target: Ledger, *, now: datetime) -> BumpDecision:
    """The semantic-version part from ``base`` (the previous release) to ``target``.

    ``major``: a replayed decision flips allow -> deny (callers lose access). ``minor``: a
    decision flips deny -> allow, or a new permission appears (an added permit policy,
    elevation or delegation, or any widening trust change). ``patch``: no decision changes.
    ``reasons`` says which flips and changes decided it.

    Raises:
        DocumentError: a ledger whose policies, schema or entities cannot be used.
    """
    report = diff_ledgers(base, target, now=now)
    narrowing = [f for f in report.flips if f.impact is Impact.NARROWING]
    widening = [f for f in report.flips if f.impact is Impact.WIDENING]
    if narrowing:
        return BumpDecision(
            part="major",
            reasons=tuple(
                f"allow -> deny: {f.name} ({f.request}) now {f.target.code}: {f.target.message}"
                for f in narrowing
            ),
        )
    grants = [
        f"{c.subject}: {c.summary}" for c in report.changes if c.impact is Impact.WIDENING
    ] + [f"policy/{p.id}: {p.summary}" for p in report.policies if p.impact is Impact.WIDENING]
    if widening or grants:
        return BumpDecision(
            part="minor",
            reasons=tuple(
                [f"deny -> allow: {f.name} ({f.request})" for f in widening] + sorted(grants)
            ),
        )
    reasons = [f"no decision changed ({report.evaluated} test decisions replayed)"]
    others = len(report.policies) + len(report.changes)
    if others:
        reasons.append(f"{others} change(s) that grant nothing new")
    return BumpDecision(part="patch", reasons=tuple(reasons))
