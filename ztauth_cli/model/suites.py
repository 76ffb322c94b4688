"""Typed, immutable models of the documents under ``tests/``: test suites and access snapshots.

The evaluator never reads them (they are neither evaluated nor signed), so ``eval`` never
imports this module; the loader builds them only when a ledger's suites are asked for.
"""

from __future__ import annotations

from dataclasses import field
from datetime import datetime, timedelta
from typing import Any

from ztauth_cli.model.record import record
from ztauth_cli.model.span import FieldSpans, Span

__all__ = ["AccessSnapshot", "Expectation", "TestCase", "TestSuite", "TokenSpec"]


@record(frozen=True, slots=True, kw_only=True)
class TokenSpec:
    """A token a test suite mints at run time (never a committed private key)."""

    span: Span
    name: str
    issuer: str
    claims: dict[str, Any]
    expires_in: timedelta | None
    not_before: timedelta | None
    signed_by: str | None
    audience: str | None


@record(frozen=True, slots=True, kw_only=True)
class Expectation:
    """What a test case expects of the decision."""

    decision: bool
    code: str | None = None
    via: str | None = None
    policies: tuple[str, ...] = ()


@record(frozen=True, slots=True, kw_only=True)
class TestCase:
    """One scenario: a request (suite defaults already merged) and its expectation."""

    __test__ = False  # not a pytest class

    span: Span
    name: str
    # An AuthZEN request as the user wrote it; ``{$token: name}`` references still unresolved.
    request: dict[str, Any]
    expect: Expectation


@record(frozen=True, slots=True, kw_only=True)
class TestSuite:
    """``kind: TestSuite``: cases sharing a clock, minted tokens and request defaults."""

    __test__ = False

    span: Span
    # Where each field is (dotted path -> span of its key); not part of the value.
    fields: FieldSpans = field(default_factory=FieldSpans, compare=False, repr=False)
    name: str
    at: datetime | None
    tokens: tuple[TokenSpec, ...]
    cases: tuple[TestCase, ...]


@record(frozen=True, slots=True, kw_only=True)
class AccessSnapshot:
    """``kind: AccessSnapshot`` (under ``tests/``): the access the ledger grants, locked in.

    ``access`` lists who may do what (``User::"alice" read Document::"q3"``); ``acting`` who may
    act for whom (``<workload or glob> acts for User::"alice": read Document::"q3" via
    delegation/x``); both sorted. ``actions`` empty means every action the ledger names.
    """

    span: Span
    # Where each field is (dotted path -> span of its key); not part of the value.
    fields: FieldSpans = field(default_factory=FieldSpans, compare=False, repr=False)
    name: str
    description: str | None
    at: datetime
    # The AuthZEN context of every probe: raw JSON, as a request carries it.
    context: dict[str, Any]
    subjects: tuple[str, ...]
    resources: tuple[str, ...]
    actions: tuple[str, ...]
    access: tuple[str, ...]
    acting: tuple[str, ...]
