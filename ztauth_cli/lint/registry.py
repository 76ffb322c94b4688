"""The lint rule registry: every rule is a small function registered with its id and doc.

A rule's doc is data (STYLE.md rule 35): ``ztauth policy lint --explain ZT101`` prints it, the
SARIF reporter embeds it, and the README's rule table is generated from it.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable, Iterable, Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, TypeVar

from ztauth_cli.model.findings import RuleDoc, Severity
from ztauth_cli.model.ids import RuleId
from ztauth_cli.model.span import Span

if TYPE_CHECKING:
    from ztauth_cli.lint.context import LintContext

_T = TypeVar("_T")

__all__ = ["RULES", "Hit", "Rule", "RuleCheck", "field_span", "get_rule", "repeats", "rule"]


@dataclass(frozen=True, slots=True, kw_only=True)
class Hit:
    """What a rule function yields: a message at a place, with an optional hint."""

    message: str
    span: Span | None
    hint: str | None = None


RuleCheck = Callable[["LintContext"], Iterable[Hit]]


@dataclass(frozen=True, slots=True, kw_only=True)
class Rule:
    """A registered rule: id (``ZT101``), short name, default severity, docs and the check."""

    id: RuleId
    name: str
    severity: Severity
    summary: str
    help: str
    check: RuleCheck | None

    @property
    def doc(self) -> RuleDoc:
        """The rule's documentation as the reporters take it."""
        return RuleDoc(
            id=self.id, name=self.name, severity=self.severity, summary=self.summary, help=self.help
        )


RULES: dict[str, Rule] = {}


def _register(entry: Rule) -> None:
    if entry.id in RULES:
        raise ValueError(f"rule {entry.id} is registered twice")
    RULES[entry.id] = entry


def rule(
    rule_id: str, name: str, severity: Severity, *, summary: str, help: str
) -> Callable[[RuleCheck], RuleCheck]:
    """Register the decorated function as the check of rule ``rule_id``."""

    def decorate(check: RuleCheck) -> RuleCheck:
        _register(
            Rule(
                id=RuleId(rule_id),
                name=name,
                severity=severity,
                summary=summary,
                help=help,
                check=check,
            )
        )
        return check

    return decorate


def declare(rule_id: str, name: str, severity: Severity, *, summary: str, help: str) -> None:
    """Register a rule whose findings are produced by the lint driver itself (no check)."""
    _register(
        Rule(
            id=RuleId(rule_id), name=name, severity=severity, summary=summary, help=help, check=None
        )
    )


def get_rule(rule_id: str) -> Rule | None:
    """The rule named by ``rule_id``: its id (``ZT201``) or its name (``cedar-syntax``),
    case-insensitive; ``None`` when no rule has it."""
    wanted = rule_id.strip()
    found = RULES.get(wanted.upper())
    if found is not None:
        return found
    return next((r for r in RULES.values() if r.name == wanted.lower()), None)


def repeats(items: Iterable[_T], key: Callable[[_T], Hashable | None]) -> Iterator[tuple[_T, _T]]:
    """``(item, first)`` for each item whose key an earlier item already had (``None``: no key).

    Uniqueness rules report every repeat and point back at the first holder of the key.
    """
    first: dict[Hashable, _T] = {}
    for item in items:
        value = key(item)
        if value is None:
            continue
        if value in first:
            yield item, first[value]
        else:
            first[value] = item


def field_span(document: Any, *paths: str) -> Span:
    """Where a finding about a field of ``document`` goes: the first of ``paths`` (dotted, as
    in :class:`~ztauth_cli.model.span.FieldSpans`) the document has, at the line of its key;
    else the document's start.
    """
    span: Span = document.span
    fields = getattr(document, "fields", None)
    return fields.first(*paths, default=span) if fields is not None else span
