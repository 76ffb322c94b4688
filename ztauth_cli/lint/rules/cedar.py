"""ZT2xx: Cedar policies parse, carry a unique kebab-case ``@id`` and fit the Cedar schema."""

from __future__ import annotations

from collections.abc import Iterator

from ztauth_cli.lint.context import LintContext
from ztauth_cli.lint.registry import Hit, repeats, rule
from ztauth_cli.model.findings import Severity
from ztauth_cli.model.ids import is_kebab_case

__all__ = [
    "cedar_schema_invalid",
    "cedar_syntax",
    "cedar_validation",
    "policy_id_duplicate",
    "policy_id_format",
    "policy_id_missing",
]


@rule(
    "ZT201",
    "cedar-syntax",
    Severity.ERROR,
    summary="A Cedar policy does not parse.",
    help=(
        "Every statement of a policies/**/*.cedar file must be a Cedar policy ending with ';'. "
        "The finding points at the token Cedar rejected (a missing ';' where it belongs, an "
        "unclosed bracket or string at its opening, '=' for '==', 'and' for '&&'), with a hint "
        "for the common mistakes; a policy that runs into the next one for want of ';' does "
        "not hide the next one."
    ),
)
def cedar_syntax(ctx: LintContext) -> Iterator[Hit]:
    """Statements Cedar rejects."""
    for error in ctx.cedar_errors:
        yield Hit(message=error.message, span=error.span, hint=error.hint)


@rule(
    "ZT202",
    "policy-id-missing",
    Severity.ERROR,
    summary='A Cedar policy has no @id("...") annotation.',
    help=(
        'Decisions, tests and diffs name policies by their @id("kebab-case-id") annotation '
        "(Cedar would otherwise call them policy0, policy1... by position, which changes "
        "whenever a file is edited)."
    ),
)
def policy_id_missing(ctx: LintContext) -> Iterator[Hit]:
    """Policies without an ``@id``."""
    for policy in ctx.policies:
        if policy.id is None:
            yield Hit(
                message=f"{policy.effect} policy has no @id annotation",
                span=policy.span,
                hint='add @id("what-it-allows") on the line before the policy',
            )


@rule(
    "ZT203",
    "policy-id-format",
    Severity.ERROR,
    summary="A policy @id is not lower-case kebab-case.",
    help="Policy ids are lower-case kebab-case ('owner-can-read'): stable, greppable, URL-safe.",
)
def policy_id_format(ctx: LintContext) -> Iterator[Hit]:
    """Policies whose ``@id`` is not kebab-case."""
    for policy in ctx.policies:
        if policy.id is not None and not is_kebab_case(policy.id):
            yield Hit(message=f"policy @id {policy.id!r} is not kebab-case", span=policy.span)


@rule(
    "ZT204",
    "policy-id-duplicate",
    Severity.ERROR,
    summary="Two Cedar policies share an @id.",
    help="Policy ids are unique across the whole ledger (all files under policies/).",
)
def policy_id_duplicate(ctx: LintContext) -> Iterator[Hit]:
    """Policies whose ``@id`` was already used (reported at every repeat)."""
    for policy, first in repeats(ctx.policies, lambda p: p.id):
        yield Hit(
            message=f"duplicate policy @id {policy.id!r} (first defined at {first.span})",
            span=policy.span,
        )


@rule(
    "ZT205",
    "cedar-schema-invalid",
    Severity.ERROR,
    summary="The Cedar schema does not parse.",
    help=(
        "The schema declared by the manifest (or schema.cedarschema) must be a valid Cedar "
        "schema, in human syntax or in JSON when the file name ends with .json."
    ),
)
def cedar_schema_invalid(ctx: LintContext) -> Iterator[Hit]:
    """The Cedar schema's parse error."""
    problem = ctx.schema_problem
    if problem is not None:
        yield Hit(message=problem.message, span=problem.span)


@rule(
    "ZT206",
    "cedar-validation",
    Severity.ERROR,
    summary="A Cedar policy does not validate against the ledger's Cedar schema.",
    help=(
        "When the ledger declares a Cedar schema, every policy is checked by Cedar's validator: "
        "unknown entity types, actions or attributes, and type errors are reported at the "
        "policy's first line."
    ),
)
def cedar_validation(ctx: LintContext) -> Iterator[Hit]:
    """Cedar validator errors (skipped when the schema itself is broken: ZT205)."""
    from ztauth_cli.engine.cedar import validate_against_schema

    ledger = ctx.ledger
    if ledger.schema_text is None or ledger.schema_path is None or ctx.schema_problem:
        return
    for error in validate_against_schema(
        ctx.policies, ledger.schema_text, schema_path=ledger.schema_path
    ):
        yield Hit(message=error.message, span=error.span)
