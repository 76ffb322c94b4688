"""ZT112, ZT207-ZT209: what the ledger's trust model, Cedar schema and settings mean for
evaluation.

* ZT112: an issuer trusted for consent tokens that no delegation or elevation accepts;
* ZT207: policies without a Cedar schema (requests are not validated);
* ZT208: a schema declaring ``context.ztauth`` in a shape the engine cannot fill;
* ZT209: ``settings.request_entities`` naming an entity type the ledger never uses.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import TYPE_CHECKING

from ztauth_cli.lint.context import LintContext
from ztauth_cli.lint.registry import Hit, field_span, rule
from ztauth_cli.model.findings import Severity
from ztauth_cli.model.span import Span

if TYPE_CHECKING:
    from ztauth_cli.engine.cedar import CedarPolicy

__all__ = [
    "consent_issuer_unused",
    "request_entities_unknown_type",
    "schema_missing",
    "schema_ztauth_unfillable",
]

MANIFEST = "ztauth.yaml"


@rule(
    "ZT112",
    "consent-issuer-unused",
    Severity.ERROR,
    summary="An issuer may issue consent tokens, but no delegation or elevation accepts them.",
    help=(
        "An issuer whose issues lists 'consent' is trusted to say 'this user agreed'. Consent "
        "is accepted only by a delegation naming the issuer in consent.issuer, a delegation "
        "requiring consent without naming an issuer, or an elevation with requires.consent: "
        "true. When none does, the trust is dead configuration that widens what the ledger "
        "accepts on review: drop 'consent' from issues, or name the issuer in the delegation "
        "that needs it. Reported when some delegation checks consent (a ledger checking none "
        "has ZT301 findings instead). A delegation naming a consent issuer that does not issue "
        "consent is ZT110."
    ),
)
def consent_issuer_unused(ctx: LintContext) -> Iterator[Hit]:
    """Issuers with ``consent`` in ``issues`` that no consent check can accept."""
    ledger = ctx.ledger
    named = {d.consent_issuer for d in ledger.delegations if d.consent_required}
    if not named:
        return  # no consent is checked at all: each delegation is ZT301's finding
    if None in named or any(e.consent for e in ledger.elevations):
        return  # consent from any consent issuer is accepted somewhere
    for issuer in ledger.issuers:
        if "consent" in issuer.issues and issuer.name not in named:
            yield Hit(
                message=f"issuer {issuer.name!r} issues consent tokens but no delegation or "
                "elevation accepts consent from it",
                span=field_span(issuer, "issues"),
                hint="remove 'consent' from issues, or name the issuer in a delegation's "
                "consent.issuer",
            )


@rule(
    "ZT207",
    "cedar-schema-missing",
    Severity.NOTE,
    summary="The ledger has Cedar policies but no Cedar schema.",
    help=(
        "Without a schema Cedar neither validates the policies nor the requests: a typo in an "
        'action name (Action::"raed"), an entity type or an attribute silently denies instead '
        "of being reported. Declare the entity model in schema.cedarschema (or the manifest's "
        "schema:)."
    ),
)
def schema_missing(ctx: LintContext) -> Iterator[Hit]:
    """Policies present, no schema declared or found."""
    ledger = ctx.ledger
    if ledger.policy_files and ledger.schema_path is None:
        manifest = ledger.manifest
        yield Hit(
            message="requests are not validated: the ledger has policies but no Cedar schema; "
            "typos in action names silently deny",
            span=manifest.span if manifest is not None else Span(path=MANIFEST),
            hint="add schema.cedarschema, or schema: <file> in ztauth.yaml",
        )


# What the engine sends in context.ztauth (engine.pipeline.ZTAUTH_FIELDS), as Cedar types: one
# typed expression per attribute, which Cedar's validator checks against the schema.
_PROBES: dict[str, tuple[str, str]] = {
    "actor": ('context.ztauth.actor == ""', "String"),
    "actor_type": ('context.ztauth.actor_type == ""', "String"),
    "delegated": ("context.ztauth.delegated == false", "Bool"),
    "trust_level": ('context.ztauth.trust_level == ""', "String"),
    "trust_rank": ("context.ztauth.trust_rank == 0", "Long"),
    "groups": ('context.ztauth.groups.contains("")', "Set<String>"),
    "via": ('context.ztauth.via == ""', "String"),
    "chain": ('context.ztauth.chain.contains("")', "Set<String>"),
    "depth": ("context.ztauth.depth == 0", "Long"),
}
_PRESENCE = "context.ztauth == context.ztauth"
_ACTION = re.compile(r'for (Action::"(?:[^"\\]|\\.)*")')
_WORD = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


def _probe_policy(name: str, condition: str) -> CedarPolicy:
    from ztauth_cli.engine.cedar import CedarPolicy

    text = f'@id("{name}")\npermit (principal, action, resource) when {{ {condition} }};'
    # The span names the probe: validate_against_schema reports each error at its policy.
    return CedarPolicy(id=name, effect="permit", span=Span(path=name), text=text, file=name)


def _declaration(schema_text: str, schema_path: str) -> Span:
    match = re.search(r'"?\bztauth"?\??\s*:', schema_text)
    if match is None:
        return Span(path=schema_path)
    line = schema_text.count("\n", 0, match.start()) + 1
    column = match.start() - (schema_text.rfind("\n", 0, match.start()) + 1) + 1
    return Span(path=schema_path, line=line, column=column)


def _read_fields(ctx: LintContext) -> frozenset[str] | None:
    """The ztauth attributes policies or elevation conditions name (None: ztauth unread)."""
    texts = [p.text for p in ctx.policies] + [
        e.condition for e in ctx.ledger.elevations if e.condition
    ]
    words = {w for text in texts for w in _WORD.findall(text)}
    if "ztauth" not in words:
        return None
    return frozenset(f for f in _PROBES if f in words)


@rule(
    "ZT208",
    "schema-ztauth-unfillable",
    Severity.WARNING,
    summary="The Cedar schema declares context.ztauth in a shape the engine cannot fill.",
    help=(
        "With a schema, ztauth sends context.ztauth only in a shape the action's context "
        "declares: all of actor, actor_type, trust_level, via (String), delegated (Bool), "
        "trust_rank, depth (Long), groups, chain (Set<String>); or exactly the attributes the "
        "policies read; or none when ztauth is optional (ztauth?:). A required ztauth record "
        "missing an attribute, or an attribute of another type, makes every request for that "
        "action invalid_request. Declare it as sample-ledger/schema.cedarschema does."
    ),
)
def schema_ztauth_unfillable(ctx: LintContext) -> Iterator[Hit]:
    """Schemas whose ztauth record the engine cannot send (skipped when the schema is broken)."""
    from ztauth_cli.engine.cedar import validate_against_schema

    ledger = ctx.ledger
    text, path = ledger.schema_text, ledger.schema_path
    if text is None or path is None or ctx.schema_problem or "ztauth" not in text:
        return
    probes = [_probe_policy("presence", _PRESENCE)] + [
        _probe_policy(name, f"context has ztauth && {condition}")
        for name, (condition, _type) in _PROBES.items()
    ]
    errors = validate_against_schema(probes, text, schema_path=path)
    not_required: set[str] = set()  # actions whose ztauth is optional or absent
    missing: dict[str, set[str]] = {}
    mistyped: set[str] = set()
    for error in errors:
        probe = error.span.path if error.span is not None else ""
        named = _ACTION.search(error.message)
        if probe == "presence":
            if named is not None:
                not_required.add(named.group(1))
        elif probe in _PROBES:
            if named is not None and "not found" in error.message:
                missing.setdefault(named.group(1), set()).add(probe)
            elif named is None:
                mistyped.add(probe)
    where = _declaration(text, path)
    read = _read_fields(ctx)
    for action in sorted(set(missing) - not_required):
        declared = set(_PROBES) - missing[action]
        if read and declared == read:
            continue  # exactly what the policies read: the engine sends that shape
        absent = ", ".join(f for f in _PROBES if f in missing[action])
        yield Hit(
            message=f"{action}: the schema's context.ztauth lacks {absent}; ztauth cannot fill "
            "that shape, so every request for this action is invalid_request",
            span=where,
            hint="declare every ztauth attribute (see sample-ledger/schema.cedarschema), or "
            "make it optional (ztauth?:)",
        )
    for name in sorted(mistyped, key=list(_PROBES).index):
        yield Hit(
            message=f"the schema declares context.ztauth.{name} with a type other than "
            f"{_PROBES[name][1]} (what ztauth sends), or context.ztauth as no record; every "
            "request for an action with that context is invalid_request",
            span=where,
        )


@rule(
    "ZT209",
    "request-entities-unknown-type",
    Severity.WARNING,
    summary="settings.request_entities names an entity type the ledger does not know.",
    help=(
        "settings.request_entities says what a request may describe of entities the ledger "
        "does not define, per Cedar entity type. A type the Cedar schema does not declare (or, "
        "without a schema, that no policy and no entity file names) is most likely a typo: "
        "its entry applies to nothing, while the real type falls under '*' or, without '*', "
        "may be described by no request at all. Spell the type as the schema declares it, "
        "namespace included (Ns::Document)."
    ),
)
def request_entities_unknown_type(ctx: LintContext) -> Iterator[Hit]:
    """Types in ``settings.request_entities`` that the schema (or the ledger) never names."""
    from ztauth_cli.engine.cedar import validate_against_schema

    ledger = ctx.ledger
    manifest = ledger.manifest
    if manifest is None:
        return
    types = [r.type for r in manifest.settings.request_entities if r.type != "*"]
    if not types:
        return
    text, path = ledger.schema_text, ledger.schema_path
    if text is not None and path is not None:
        if ctx.schema_problem:
            return
        probes = [_probe_policy(type_, f"resource is {type_}") for type_ in types]
        errors = validate_against_schema(probes, text, schema_path=path)
        unknown = {
            e.span.path
            for e in errors
            if e.span is not None and "unrecognized entity type" in e.message
        }
        where = "the Cedar schema declares no such entity type"
    else:
        named = {str(e["uid"]["type"]) for f in ledger.entity_files for e in f.entities}
        words = "\n".join(p.text for p in ctx.policies)
        unknown = {
            t
            for t in types
            if t not in named and not re.search(rf"(?<![\w:]){re.escape(t)}(?!\w)", words)
        }
        where = "no policy and no entity file names this type"
    for type_ in sorted(unknown):
        yield Hit(
            message=f"settings.request_entities names {type_!r}, but {where}",
            span=field_span(manifest, f"settings.request_entities.{type_}", "settings"),
            hint="spell the type as the schema declares it (with its namespace), or remove it",
        )
