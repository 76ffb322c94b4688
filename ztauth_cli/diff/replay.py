"""Decision replay: the same requests evaluated against two ledgers, flips reported.

Test cases of both revisions (their union, by ``suite/case``) and the requests of a ``.jsonl``
file (plain AuthZEN requests, or lines of an ``eval --audit-log`` carrying ``request``) are
evaluated by the engine against the base and the target ledger. Suite tokens are minted ONCE,
with ONE set of fresh issuer keys handed to both evaluators, so that a decision flips only
because the ledger changed, never because a token or key did.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ztauth_cli.diff.model import DecisionFlip, DecisionSide, Impact
from ztauth_cli.errors import RequestError, SuiteError
from ztauth_cli.model import Decision, Ledger, Span, TestCase, TestSuite

if TYPE_CHECKING:
    from ztauth_cli.engine import Evaluator

__all__ = [
    "ReplayItem",
    "ReplayResult",
    "load_requests",
    "replay",
    "suite_items",
]

# Keys of an audit-log line that may carry the time of the original decision.
_TIME_KEYS = ("time", "timestamp", "at")
# Requests per engine call: large enough to batch Cedar, small enough for a live progress bar.
_CHUNK = 100


@dataclass(frozen=True, slots=True, kw_only=True)
class ReplayItem:
    """One request to evaluate against both ledgers, with its clock (``None`` = the run's)."""

    source: str  # test | request
    name: str
    request: Mapping[str, Any]
    at: datetime | None
    span: Span | None


@dataclass(frozen=True, slots=True, kw_only=True)
class ReplayResult:
    """What a replay found: the flips and how many decisions were compared."""

    flips: tuple[DecisionFlip, ...]
    evaluated: int


def _merged_suites(base: Ledger, target: Ledger) -> list[tuple[TestSuite, Ledger, TestCase]]:
    """Cases of both ledgers, target first, de-duplicated by suite and case name."""
    seen: set[tuple[str, str]] = set()
    out: list[tuple[TestSuite, Ledger, TestCase]] = []
    for ledger in (target, base):
        for suite in ledger.suites:
            for case in suite.cases:
                key = (suite.name, case.name)
                if key not in seen:
                    seen.add(key)
                    out.append((suite, ledger, case))
    return out


def suite_items(
    base: Ledger, target: Ledger, *, now: datetime
) -> tuple[
    tuple[ReplayItem, ...],
    dict[str, list[dict[str, Any]]],
    dict[str, list[dict[str, Any]]],
    tuple[str, ...],
]:
    """Resolve every test case of both ledgers into a replayable request.

    Returns the items, the issuer keys to trust for the base and for the target (the same
    fresh keys, limited to the issuers each ledger declares), and the cases skipped (a
    ``$token`` reference that does not resolve), each with its reason.
    """
    from ztauth_cli.testing.discover import case_id
    from ztauth_cli.testing.tokens import IssuerKeys, mint_suite_tokens, resolve_request

    cases = _merged_suites(base, target)
    suites_by_ledger: dict[int, dict[str, TestSuite]] = {id(base): {}, id(target): {}}
    for suite, ledger, _case in cases:
        suites_by_ledger[id(ledger)][suite.name] = suite
    all_suites = [s for by_name in suites_by_ledger.values() for s in by_name.values()]
    # One key set for the whole run: both evaluators trust the same public keys.
    keys = IssuerKeys.generate(
        (spec.issuer for suite in all_suites for spec in suite.tokens), ledger=target
    )
    minted = {
        id(ledger): mint_suite_tokens(
            list(suites_by_ledger[id(ledger)].values()), ledger, keys=keys, now=now
        )
        for ledger in (base, target)
    }
    items: list[ReplayItem] = []
    skipped: list[str] = []
    for suite, ledger, case in cases:
        name = case_id(suite.name, case.name)
        try:
            request = resolve_request(case, minted[id(ledger)].for_suite(suite.name))
        except SuiteError as exc:
            skipped.append(f"{name}: {exc.diagnostics()}")
            continue
        items.append(
            ReplayItem(source="test", name=name, request=request, at=suite.at, span=case.span)
        )
    return (
        tuple(items),
        keys.trusted_jwks(base),
        keys.trusted_jwks(target),
        tuple(skipped),
    )


def load_requests(path: Path) -> tuple[ReplayItem, ...]:
    """Read a ``.jsonl`` of AuthZEN requests or of ``eval --audit-log`` lines.

    An audit line carries the request under ``request`` (and its time under ``time``, used as
    the replay clock). Blank lines and ``#`` comment lines are skipped, and so are audit lines
    of input that never became a request (``{"invalid": ...}``).

    Raises:
        RequestError: an unreadable file, a line that is not a JSON object holding a request,
            or an audit line whose request was stored truncated (with file:line:col).
    """
    from ztauth_cli.ledger.load import parse_timestamp

    display = path.as_posix()
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        reason = getattr(exc, "strerror", None) or exc
        raise RequestError(f"cannot read requests file: {reason}", span=Span(path=display)) from exc
    items: list[ReplayItem] = []
    for number, line in enumerate(text.splitlines(), start=1):
        stripped = line.strip()
        if not stripped or stripped.startswith("#"):
            continue
        span = Span(path=display, line=number, column=1)
        try:
            data = json.loads(stripped)
        except json.JSONDecodeError as exc:
            raise RequestError(
                f"invalid JSON: {exc.msg}",
                span=Span(
                    path=display, line=number, column=exc.colno + len(line) - len(line.lstrip())
                ),
            ) from exc
        if not isinstance(data, dict):
            raise RequestError("expected a JSON object (an AuthZEN request)", span=span)
        at = None
        request: Any = data
        if "request" in data and "subject" not in data:
            request = data["request"]
            if "request_truncated" in data:
                # The log kept only a bounded copy: replaying it would decide another request.
                raise RequestError(
                    "this audit entry holds a truncated copy of its request (larger than the "
                    "audit log stores); it cannot be replayed",
                    span=span,
                )
            if isinstance(request, dict) and set(request) == {"invalid"}:
                # A stream line that never became a request: denied by every ledger alike,
                # so it can show no difference.
                continue
            for key in _TIME_KEYS:
                if isinstance(data.get(key), str):
                    try:
                        at = parse_timestamp(data[key])
                    except ValueError as exc:
                        raise RequestError(f"{key!r}: {exc}", span=span) from exc
                    break
        if not isinstance(request, dict) or not isinstance(request.get("subject"), dict):
            raise RequestError(
                "expected an AuthZEN request with a 'subject' object "
                "(or an audit-log line with 'request')",
                span=span,
            )
        items.append(
            ReplayItem(
                source="request", name=f"{display}:{number}", request=request, at=at, span=span
            )
        )
    return tuple(items)


def _entity(raw: Any) -> str:
    if isinstance(raw, Mapping):
        return f'{raw.get("type")}::"{raw.get("id")}"'
    return "?"


def describe_request(request: Mapping[str, Any]) -> str:
    """A one-line summary: ``User::"alice" read Document::"q3" as Workload::"..."``."""
    action = request.get("action")
    name = action.get("name") if isinstance(action, Mapping) else None
    text = f"{_entity(request.get('subject'))} {name} {_entity(request.get('resource'))}"
    model = request.get("authorization_model")
    if isinstance(model, Mapping) and isinstance(model.get("principal"), Mapping):
        text += f" as {_entity(model['principal'])}"
    return text


def _side(decision: Decision) -> DecisionSide:
    return DecisionSide(
        allowed=decision.allowed,
        code=decision.code.value,
        message=decision.message,
        via=decision.via,
        policies=tuple(sorted(decision.policies)),
    )


def _batch_names(item: ReplayItem, count: int) -> list[str]:
    if count == 1:
        return [item.name]
    return [f"{item.name}#{index}" for index in range(count)]


def replay(
    items: Sequence[ReplayItem],
    base: Evaluator,
    target: Evaluator,
    *,
    now: datetime,
    progress: Callable[[], None] | None = None,
) -> ReplayResult:
    """Evaluate every item against both evaluators and list the decisions that flip.

    Single requests sharing a clock are evaluated in batches (the engine batches the Cedar
    calls); a request with an AuthZEN ``evaluations`` array is expanded by the engine and
    compared item by item (``name#index``). Never raises: the engine denies on any error.
    """
    compared: list[tuple[ReplayItem, str, Decision, Decision]] = []
    by_clock: dict[datetime, list[ReplayItem]] = {}
    batches: list[ReplayItem] = []
    for item in items:
        if item.source == "request" and "evaluations" in item.request:
            batches.append(item)
        else:
            by_clock.setdefault(item.at or now, []).append(item)
    for at, group in by_clock.items():
        for start in range(0, len(group), _CHUNK):
            chunk = group[start : start + _CHUNK]
            requests = [item.request for item in chunk]
            before = base.evaluate_many(requests, now=at)
            after = target.evaluate_many(requests, now=at)
            for item, old, new in zip(chunk, before, after, strict=True):
                compared.append((item, item.name, old, new))
                if progress is not None:
                    progress()
    for item in batches:
        at = item.at or now
        old_all = base.evaluate_all(item.request, now=at)
        new_all = target.evaluate_all(item.request, now=at)
        names = _batch_names(item, max(len(old_all), len(new_all)))
        # A short-circuit semantic may stop at another item on each side: compare what both
        # sides evaluated.
        for name, old, new in zip(names, old_all, new_all, strict=False):
            compared.append((item, name, old, new))
        if progress is not None:
            progress()
    flips = [
        DecisionFlip(
            source=item.source,
            name=name,
            request=describe_request(item.request),
            impact=Impact.WIDENING if new.allowed else Impact.NARROWING,
            base=_side(old),
            target=_side(new),
            span=item.span,
        )
        for item, name, old, new in compared
        if old.allowed != new.allowed
    ]
    flips.sort(key=lambda f: (f.impact is not Impact.WIDENING, f.source, f.name))
    return ReplayResult(flips=tuple(flips), evaluated=len(compared))
