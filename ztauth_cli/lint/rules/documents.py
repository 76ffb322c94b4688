"""ZT0xx: documents that cannot be read or break their JSON Schema, and suppressions."""

from __future__ import annotations

from collections.abc import Iterator

from ztauth_cli.lint.context import LintContext
from ztauth_cli.lint.registry import Hit, declare, field_span, rule
from ztauth_cli.model.findings import Severity

__all__ = ["document_invalid", "manifest_metadata_incomplete"]

# The manifest metadata the ZTAuth* protocol names for a ledger (its "manifest" document).
_METADATA_FIELDS = ("name", "description", "author", "license")


def _is_identifier_problem(message: str) -> bool:
    # The loader's ZTID parser words every problem "ZTID '...' ..." (model/ids.py).
    return message.startswith("ZTID ")


@rule(
    "ZT001",
    "document-invalid",
    Severity.ERROR,
    summary="A ledger file cannot be read or does not match its JSON Schema.",
    help=(
        "Every YAML/JSON document is parsed safely (no aliases, merge keys or duplicate keys) "
        "and validated against schemas/<kind>.schema.json: unknown kinds and unknown fields are "
        "errors, required fields must be present, and references must stay inside the ledger. "
        "Also covers invalid UTF-8, files over the size limit, symlinks leaving the ledger, "
        "duplicate names/ids of trust documents and a missing manifest or schema file."
    ),
)
def document_invalid(ctx: LintContext) -> Iterator[Hit]:
    """Every problem the loader met, except identifier problems (ZT106)."""
    for problem in ctx.ledger.problems:
        if not _is_identifier_problem(problem.message):
            yield Hit(message=problem.message, span=problem.span, hint=problem.hint)


declare(
    "ZT002",
    "suppression-without-reason",
    Severity.ERROR,
    summary="An inline suppression gives no reason.",
    help=(
        "Suppressions must say why: '# ztauth: ignore ZT301 -- nightly export has no user to ask' "
        "in YAML, '// ztauth: ignore ZT307 -- reason' in Cedar. A suppression without a reason "
        "suppresses nothing and is reported itself."
    ),
)

declare(
    "ZT003",
    "suppression-unused",
    Severity.WARNING,
    summary="An inline suppression names an unknown rule or matches no finding.",
    help=(
        "A suppression applies to findings of its rule on the line it is on, on the next line "
        "when it stands alone on its line, or anywhere in the YAML document / Cedar policy that "
        "the finding points at. A suppression that suppresses nothing is stale: remove it."
    ),
)


@rule(
    "ZT004",
    "manifest-metadata-incomplete",
    Severity.WARNING,
    summary="The manifest's metadata lacks one of name, description, author, license.",
    help=(
        "The ZTAuth* protocol describes a ledger by four metadata fields: name, description, "
        "author and license. A ledger is shared and reviewed like any other code; say what it "
        "governs, who maintains it and under which terms, in ztauth.yaml: metadata: {name: "
        'payments, description: "...", author: "...", license: Apache-2.0}. Only name is '
        "required to load the ledger."
    ),
)
def manifest_metadata_incomplete(ctx: LintContext) -> Iterator[Hit]:
    """One finding naming every absent (or empty) metadata field of the manifest."""
    manifest = ctx.ledger.manifest
    if manifest is None:
        return  # no manifest: ZT001 reports that
    values = {
        "name": manifest.name,
        "description": manifest.description,
        "author": manifest.author,
        "license": manifest.license,
    }
    missing = [name for name in _METADATA_FIELDS if not (values[name] or "").strip()]
    if missing:
        yield Hit(
            message=f"the manifest's metadata has no {', '.join(missing)}",
            span=field_span(manifest, "metadata"),
            hint="add " + ", ".join(f"{name}: ..." for name in missing) + " under metadata:",
        )
