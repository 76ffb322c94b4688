"""Structural diff: policies by @id and meaning, trust changes with their security meaning."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.diff.conftest import History
from tests.diff.ledgers import CHAT, IDP, MAIL, ZTID, base_files
from tests.support.ledgers import public_jwks
from tests.support.repo import write_files
from ztauth_cli.diff.model import Change, Impact
from ztauth_cli.diff.policies import diff_policies, parse_ledger_policies
from ztauth_cli.diff.trust import diff_entities, diff_manifest, diff_trust, is_covered
from ztauth_cli.errors import DocumentError
from ztauth_cli.ledger import load
from ztauth_cli.model import Ledger


def _rows(changes: tuple[Change, ...]) -> list[tuple[str, str | None, str, str]]:
    return [(c.subject, c.field, c.impact.value, c.summary) for c in changes]


def test_trust_changes_of_the_four_change_commit(history: History) -> None:
    base = load(history.root, "v1.0.0")
    target = load(history.root, "HEAD")
    assert _rows(diff_trust(base, target)) == [
        ("group/ai-assistants", "members", "widening", f"member {MAIL!r} added"),
        (
            "elevation/billing-acts-for-customer",
            "actions",
            "narrowing",
            "action 'refund' removed",
        ),
        (
            "delegation/user-assistant-read",
            "consent.required",
            "widening",
            "consent no longer required",
        ),
    ]
    assert diff_manifest(base, target) == ()
    assert diff_entities(base, target) == ()


def test_policy_effect_change_by_id(history: History) -> None:
    base = parse_ledger_policies(load(history.root, "v1.0.0"))
    target = parse_ledger_policies(load(history.root, "HEAD"))
    (change,) = diff_policies(base, target)
    assert change.id == "bob-reads-roadmap"
    assert change.kind == "changed"
    assert change.impact is Impact.NARROWING
    assert change.aspects == ("effect",)
    assert change.summary == "effect permit -> forbid"
    assert change.before == (
        '@id("bob-reads-roadmap")\npermit (principal == User::"bob", action == Action::"read", '
        'resource == Document::"roadmap");'
    )
    assert change.after == change.before.replace("permit", "forbid")
    assert str(change.span) == "policies/docs.cedar:9:1"


def _ledger(tmp_path: Path, name: str, files: dict[str, str | bytes]) -> Ledger:
    root = tmp_path / name
    write_files(root, files)
    return load(root)


@pytest.fixture(scope="module")
def jwks() -> str:
    return public_jwks()


def test_reformatting_and_moving_a_policy_is_no_change(tmp_path: Path, jwks: str) -> None:
    files = base_files(jwks)
    base = _ledger(tmp_path, "a", files)
    policies = str(files.pop("policies/docs.cedar"))
    moved = {
        **files,
        "policies/a.cedar": "// moved and reflowed\n" + " ".join(policies.split()),
    }
    target = _ledger(tmp_path, "b", moved)
    assert diff_policies(parse_ledger_policies(base), parse_ledger_policies(target)) == ()


POLICY_CASES = [
    (
        'permit (principal, action in [Action::"read", Action::"summarize"], resource is Document)'
        "\nwhen { resource.owner == principal };",
        'permit (principal, action in [Action::"read", Action::"summarize", Action::"share"], '
        "resource is Document)\nwhen { resource.owner == principal };",
        "widening",
        ("action",),
        'permit broadened (action: action in [Action::"read", Action::"summarize"] -> '
        'action in [Action::"read", Action::"summarize", Action::"share"])',
    ),
    (
        "permit (principal, action, resource is Document)\nwhen { resource.owner == principal };",
        "permit (principal, action, resource is Document);",
        "widening",
        ("conditions",),
        "permit broadened (conditions: 1 -> 0)",
    ),
    (
        "forbid (principal, action, resource is Document)\nwhen { resource.owner == principal };",
        "forbid (principal, action, resource is Document);",
        "narrowing",
        ("conditions",),
        "forbid broadened (conditions: 1 -> 0)",
    ),
    (
        'permit (principal, action == Action::"read", resource);',
        'permit (principal, action == Action::"read", resource is Document);',
        "narrowing",
        ("resource",),
        "permit narrowed (resource: resource -> resource is Document)",
    ),
    (
        'permit (principal in Role::"a", action, resource);',
        'permit (principal in Role::"b", action, resource);',
        "neutral",
        ("principal",),
        'changed (needs review) (principal: principal in Role::"a" -> principal in Role::"b")',
    ),
]


@pytest.mark.parametrize(
    ("before", "after", "impact", "aspects", "summary"),
    POLICY_CASES,
    ids=[
        "action-added",
        "condition-removed",
        "forbid-condition-removed",
        "scope-narrowed",
        "role-swapped",
    ],
)
def test_policy_change_classification(
    tmp_path: Path,
    jwks: str,
    before: str,
    after: str,
    impact: str,
    aspects: tuple[str, ...],
    summary: str,
) -> None:
    files = base_files(jwks)
    files.pop("tests/docs.yaml")
    base = _ledger(tmp_path, "a", {**files, "policies/docs.cedar": f'@id("p")\n{before}\n'})
    target = _ledger(tmp_path, "b", {**files, "policies/docs.cedar": f'@id("p")\n{after}\n'})
    (change,) = diff_policies(parse_ledger_policies(base), parse_ledger_policies(target))
    assert (change.impact.value, change.aspects, change.summary) == (impact, aspects, summary)


def test_added_and_removed_policies(tmp_path: Path, jwks: str) -> None:
    files = base_files(jwks)
    base = _ledger(tmp_path, "a", files)
    extra = str(files["policies/docs.cedar"]).replace(
        '@id("customer-pays")',
        '@id("no-deletes")\nforbid (principal, action, resource);\n\n@id("customer-pays")',
    )
    extra = extra.replace(
        '@id("bob-reads-roadmap")\npermit (principal == User::"bob", action == Action::"read", '
        'resource == Document::"roadmap");\n',
        "",
    )
    target = _ledger(tmp_path, "b", {**files, "policies/docs.cedar": extra})
    changes = diff_policies(parse_ledger_policies(base), parse_ledger_policies(target))
    assert [(c.id, c.kind, c.impact.value) for c in changes] == [
        ("bob-reads-roadmap", "removed", "narrowing"),
        ("no-deletes", "added", "narrowing"),
    ]


# --------------------------------------------------------------------------------- trust


def _trust_diff(
    tmp_path: Path, jwks: str, edits: dict[str, tuple[str, str]]
) -> list[tuple[str, str | None, str, str]]:
    files = base_files(jwks)
    base = _ledger(tmp_path, "a", files)
    changed = dict(files)
    for path, (old, new) in edits.items():
        text = str(changed[path])
        assert old in text, (path, old)
        changed[path] = text.replace(old, new)
    target = _ledger(tmp_path, "b", changed)
    return _rows((*diff_manifest(base, target), *diff_trust(base, target)))


TRUST_CASES = {
    "member-removed": (
        {"trust/groups.yaml": (f'members: ["{CHAT}"]', "members: []")},
        [("group/ai-assistants", "members", "narrowing", f"member {CHAT!r} removed")],
    ),
    "member-replaced-by-glob": (
        {
            "trust/groups.yaml": (
                f'members: ["{CHAT}"]',
                'members: ["spiffe://acme.internal/assistant/*"]',
            )
        },
        [
            (
                "group/ai-assistants",
                "members",
                "widening",
                "member 'spiffe://acme.internal/assistant/*' added",
            ),
            (
                "group/ai-assistants",
                "members",
                "neutral",
                f"member {CHAT!r} removed (still covered)",
            ),
        ],
    ),
    "revocation-added": (
        {
            "trust/groups.yaml": (
                f'members: ["{CHAT}"]',
                f'members: ["{CHAT}"]\nrevoked: ["{CHAT}"]',
            )
        },
        [("group/ai-assistants", "revoked", "narrowing", f"{CHAT!r} revoked")],
    ),
    "group-moved-up": (
        {
            "trust/groups.yaml": (
                "name: ai-assistants\ntrust_level: basic",
                "name: ai-assistants\ntrust_level: trusted",
            )
        },
        [
            (
                "group/ai-assistants",
                "trust_level",
                "widening",
                "moved up from trust level basic (rank 1) to trusted (rank 3)",
            )
        ],
    ),
    "rank-lowered": (
        {"trust/levels.yaml": ("rank: 3", "rank: 2")},
        [("trust_level/trusted", "rank", "narrowing", "rank lowered from 3 to 2")],
    ),
    "attestation-added": (
        {
            "trust/levels.yaml": (
                "rank: 3",
                "rank: 3\nrequires:\n  attestation: {max_age: 10m, issuer: https://a.example}",
            )
        },
        [("trust_level/trusted", "requires.attestation", "narrowing", "attestation now required")],
    ),
    "elevation-any-subject-id-and-no-resource": (
        {"trust/elevations.yaml": ("resources: {type: Invoice}\n", "")},
        [
            (
                "elevation/billing-acts-for-customer",
                "resources",
                "widening",
                "resources no longer restricted (any)",
            )
        ],
    ),
    "elevation-min-level-raised-and-condition": (
        {
            "trust/elevations.yaml": (
                "min_trust_level: basic",
                "min_trust_level: trusted\n  condition: 'context.channel == \"queue\"'",
            )
        },
        [
            (
                "elevation/billing-acts-for-customer",
                "requires.min_trust_level",
                "narrowing",
                "min_trust_level raised from basic (rank 1) to trusted (rank 3)",
            ),
            (
                "elevation/billing-acts-for-customer",
                "requires.condition",
                "narrowing",
                "condition added",
            ),
        ],
    ),
    "delegation-window-depth-actions": (
        {
            "trust/delegations.yaml": (
                "max_depth: 0",
                "max_depth: 2\nvalid: {until: 2030-01-01T00:00:00Z}",
            )
        },
        [
            (
                "delegation/user-assistant-read",
                "valid.until",
                "narrowing",
                "validity window shortened",
            ),
            (
                "delegation/user-assistant-read",
                "max_depth",
                "widening",
                "max_depth raised from 0 to 2",
            ),
        ],
    ),
    "delegation-actions-widened-by-glob": (
        {
            "trust/delegations.yaml": (
                "actions: [read, summarize]",
                "actions: [read, summarize, share]",
            )
        },
        [("delegation/user-assistant-read", "scope.actions", "widening", "action 'share' added")],
    ),
    "issuer-algorithm-added": (
        {"trust/issuers.yaml": ("algorithms: [EdDSA]", "algorithms: [EdDSA, ES256]")},
        [
            (
                "issuer/https://idp.acme.internal",
                "algorithms",
                "widening",
                "algorithm 'ES256' added",
            )
        ],
    ),
    "manifest-settings": (
        {
            "ztauth.yaml": (
                "metadata: {name: docs}\n",
                "metadata: {name: docs}\nsettings: {require_txn_token: true, max_chain_depth: 6, "
                "require_signatures: 0}\n",
            )
        },
        [
            (
                "manifest",
                "settings.require_txn_token",
                "narrowing",
                "transaction token now required",
            ),
            (
                "manifest",
                "settings.max_chain_depth",
                "widening",
                "max_chain_depth raised from 4 to 6",
            ),
        ],
    ),
    "manifest-request-entities": (
        {
            "ztauth.yaml": (
                "metadata: {name: docs}\n",
                "metadata: {name: docs}\nsettings:\n  request_entities: "
                "{Folder: [attributes, parents], '*': []}\n",
            )
        },
        [
            (
                "manifest",
                "settings.request_entities",
                "narrowing",
                "requests may no longer give new entities of other types attributes",
            ),
            (
                "manifest",
                "settings.request_entities",
                "widening",
                "requests may now give new Folder entities parents",
            ),
        ],
    ),
    "delegation-window-starts": (
        {
            "trust/delegations.yaml": (
                "max_depth: 0",
                "max_depth: 0\nvalid: {from: 2026-01-01T00:00:00Z}",
            )
        },
        [
            (
                "delegation/user-assistant-read",
                "valid.from",
                "narrowing",
                "validity window starts later",
            )
        ],
    ),
    "delegation-consent-issuer-changed": (
        {"trust/delegations.yaml": (f"issuer: {IDP}", "issuer: https://other.example")},
        [
            (
                "delegation/user-assistant-read",
                "consent.issuer",
                "neutral",
                f"consent issuer changed: {IDP} -> https://other.example",
            )
        ],
    ),
    "elevation-consent-required": (
        {"trust/elevations.yaml": ("consent: false", "consent: true")},
        [
            (
                "elevation/billing-acts-for-customer",
                "requires.consent",
                "narrowing",
                "consent now required",
            )
        ],
    ),
    "issuer-audience-dropped": (
        {"trust/issuers.yaml": (f"audience: {ZTID}\n", "")},
        [
            (
                f"issuer/{IDP}",
                "audience",
                "widening",
                f"audience changed: {ZTID} -> None",
            )
        ],
    ),
    "manifest-ztid": (
        {"ztauth.yaml": (f"ledger: {ZTID}", f"ledger: {ZTID}-next")},
        [("manifest", "ledger", "neutral", f"ledger ZTID changed: {ZTID} -> {ZTID}-next")],
    ),
}


@pytest.mark.parametrize(("edits", "expected"), list(TRUST_CASES.values()), ids=list(TRUST_CASES))
def test_trust_change_classification(
    tmp_path: Path,
    jwks: str,
    edits: dict[str, tuple[str, str]],
    expected: list[tuple[str, str | None, str, str]],
) -> None:
    assert _trust_diff(tmp_path, jwks, edits) == expected


def test_added_and_removed_trust_documents(tmp_path: Path, jwks: str) -> None:
    files = base_files(jwks)
    base = _ledger(tmp_path, "a", files)
    changed = {k: v for k, v in files.items() if k != "trust/elevations.yaml"}
    changed["trust/more.yaml"] = (
        "apiVersion: ztauth/v1\nkind: Elevation\nid: gateway-reads\n"
        "actor: {workload: spiffe://acme.internal/gw}\nsubjects: {type: User}\nactions: [read]\n"
    )
    target = _ledger(tmp_path, "b", changed)
    assert [(c.subject, c.kind, c.impact.value) for c in diff_trust(base, target)] == [
        ("elevation/gateway-reads", "added", "widening"),
        ("elevation/billing-acts-for-customer", "removed", "narrowing"),
    ]


def test_entity_parent_that_a_permit_names_is_widening(tmp_path: Path, jwks: str) -> None:
    files = base_files(jwks)
    files["policies/docs.cedar"] = (
        str(files["policies/docs.cedar"])
        + '\n@id("employees-read")\npermit (principal in Role::"employee", action, resource);\n'
    )
    base = _ledger(tmp_path, "a", files)
    bob = '"id": "bob"\n    },\n    "attrs": {},\n    "parents": []'
    entities = str(files["entities/docs.json"]).replace(
        bob,
        '"id": "bob"\n    },\n    "attrs": {"team": "x"},\n'
        '    "parents": [{"type": "Role", "id": "employee"}]',
    )
    assert entities != files["entities/docs.json"]
    target = _ledger(tmp_path, "b", {**files, "entities/docs.json": entities})
    base_p, target_p = parse_ledger_policies(base), parse_ledger_policies(target)
    from ztauth_cli.diff.policies import granting_entities

    changes = diff_entities(
        base, target, granting=granting_entities(target_p) | granting_entities(base_p)
    )
    assert _rows(changes) == [
        (
            'entity/User::"bob"',
            "parents",
            "widening",
            'parent Role::"employee" added (a permit policy names it)',
        ),
        ('entity/User::"bob"', "attrs.team", "neutral", "attribute 'team' added"),
    ]


@pytest.mark.parametrize(
    ("pattern", "patterns", "covered"),
    [
        ("spiffe://a/x", ["spiffe://a/*"], True),
        # The engine's globs: * stays within one segment, so a/* never matches a/x/y.
        ("spiffe://a/x/*", ["spiffe://a/*"], False),
        ("spiffe://a/x/*", ["spiffe://a/**"], True),
        ("spiffe://a/**", ["spiffe://a/*"], False),
        ("spiffe://a/*", ["spiffe://a/**"], True),
        ("spiffe://a/x/y", ["spiffe://a/*"], False),
        ("spiffe://a/x/y", ["spiffe://a/**"], True),
        ("spiffe://a/*", ["spiffe://a/x"], False),
        ("read", ["read", "write"], True),
        ("share", ["read"], False),
    ],
)
def test_glob_coverage(pattern: str, patterns: list[str], covered: bool) -> None:
    assert is_covered(pattern, patterns) is covered


A = "spiffe://acme.internal/assistant"


@pytest.mark.parametrize(
    ("before", "after", "expected"),
    [
        # fnmatch's * crosses "/", the engine's does not: a/** admits ids a/* never did.
        (
            f"{A}/*",
            f"{A}/**",
            [
                ("widening", f"member '{A}/**' added"),
                ("neutral", f"member '{A}/*' removed (still covered)"),
            ],
        ),
        # New ids one segment deeper: widening (and the old ids go).
        (
            f"{A}/*",
            f"{A}/a/*",
            [
                ("widening", f"member '{A}/a/*' added"),
                ("narrowing", f"member '{A}/*' removed"),
            ],
        ),
        (
            f"{A}/**",
            f"{A}/*",
            [
                ("neutral", f"member '{A}/*' added (already covered)"),
                ("narrowing", f"member '{A}/**' removed"),
            ],
        ),
    ],
    ids=["one-segment-to-any-depth", "one-segment-deeper", "any-depth-to-one-segment"],
)
def test_member_globs_follow_the_engine(
    tmp_path: Path, jwks: str, before: str, after: str, expected: list[tuple[str, str]]
) -> None:
    files = base_files(jwks)
    groups = str(files["trust/groups.yaml"])
    old = groups.replace(f'members: ["{CHAT}"]', f'members: ["{before}"]')
    new = groups.replace(f'members: ["{CHAT}"]', f'members: ["{after}"]')
    base = _ledger(tmp_path, "a", {**files, "trust/groups.yaml": old})
    target = _ledger(tmp_path, "b", {**files, "trust/groups.yaml": new})
    changes = diff_trust(base, target)
    assert [(c.impact.value, c.summary) for c in changes] == expected
    assert {c.subject for c in changes} == {"group/ai-assistants"}


def test_duplicate_policy_id_is_the_engines_error(tmp_path: Path, jwks: str) -> None:
    files = base_files(jwks)
    policies = str(files["policies/docs.cedar"])
    twice = policies + '\n@id("owner-can-read")\nforbid (principal, action, resource);\n'
    with pytest.raises(DocumentError) as caught:
        parse_ledger_policies(_ledger(tmp_path, "dup", {**files, "policies/docs.cedar": twice}))
    assert "duplicate policy @id 'owner-can-read' (first defined at policies/docs.cedar:1:1)" in (
        caught.value.message
    )
    assert str(caught.value.span) == "policies/docs.cedar:16:1"


PLACES = {
    # An added item points at the item in the target, a removed one at the item in the base.
    "member-added": (
        {"trust/groups.yaml": (f'members: ["{CHAT}"]', f'members: ["{CHAT}", "{MAIL}"]')},
        ["trust/groups.yaml:5:52"],
    ),
    "action-removed": (
        {"trust/elevations.yaml": ("[charge, refund]", "[charge]")},
        ["trust/elevations.yaml:6:19"],
    ),
    # A value changed points at its key in the target.
    "requirement-dropped": (
        {"trust/delegations.yaml": ("required: true", "required: false")},
        ["trust/delegations.yaml:7:11"],
    ),
    "nested-key": (
        {"trust/elevations.yaml": ("min_trust_level: basic", "min_trust_level: trusted")},
        ["trust/elevations.yaml:9:3"],
    ),
    "selector-ids-added": (
        {"trust/elevations.yaml": ("subjects: {type: User}", "subjects: {type: User, ids: [a]}")},
        ["trust/elevations.yaml:5:30"],
    ),
    "condition-added": (
        {"trust/elevations.yaml": ("consent: false", "consent: false\n  condition: 'true'")},
        ["trust/elevations.yaml:11:3"],
    ),
    "manifest-setting": (
        {"ztauth.yaml": ("ledger: ", "settings: {require_txn_token: true}\nledger: ")},
        ["ztauth.yaml:4:12"],
    ),
}


@pytest.mark.parametrize(("edits", "places"), list(PLACES.values()), ids=list(PLACES))
def test_trust_change_points_at_the_changed_field(
    tmp_path: Path, jwks: str, edits: dict[str, tuple[str, str]], places: list[str]
) -> None:
    files = base_files(jwks)
    changed = dict(files)
    for path, (old, new) in edits.items():
        assert old in str(changed[path]), (path, old)
        changed[path] = str(changed[path]).replace(old, new)
    base = _ledger(tmp_path, "a", files)
    target = _ledger(tmp_path, "b", changed)
    changes = (*diff_manifest(base, target), *diff_trust(base, target))
    assert [str(c.span) for c in changes] == places


def test_a_removed_field_is_placed_in_the_base(tmp_path: Path, jwks: str) -> None:
    files = base_files(jwks)
    with_condition = str(files["trust/elevations.yaml"]) + "  condition: 'true'\n"
    base = _ledger(tmp_path, "a", {**files, "trust/elevations.yaml": with_condition})
    target = _ledger(tmp_path, "b", files)
    (change,) = diff_trust(base, target)
    assert (change.summary, str(change.span)) == ("condition removed", "trust/elevations.yaml:11:3")


def test_delegation_window_extended_is_widening(tmp_path: Path, jwks: str) -> None:
    files = base_files(jwks)
    files["trust/delegations.yaml"] = (
        str(files["trust/delegations.yaml"]) + "valid: {until: 2027-01-01T00:00:00Z}\n"
    )
    base = _ledger(tmp_path, "a", files)
    later = str(files["trust/delegations.yaml"]).replace("2027-01-01", "2028-01-01")
    target = _ledger(tmp_path, "b", {**files, "trust/delegations.yaml": later})
    (change,) = diff_trust(base, target)
    assert (change.field, change.impact, change.before, change.after) == (
        "valid.until",
        Impact.WIDENING,
        "2027-01-01T00:00:00Z",
        "2028-01-01T00:00:00Z",
    )
