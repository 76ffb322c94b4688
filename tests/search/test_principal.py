"""Principal search: who may act for whom, over generated trust models (hypothesis).

Two independent enumerations must agree: asking, for every subject, action and resource, who
may act for it (forward) and asking, for every workload, what it may do (reverse). And every
row is what `eval` decides for a request presenting the tokens the row says to present.
"""

from __future__ import annotations

import tempfile
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from tests.support.ledgers import write_ledger
from ztauth_cli.cli.search import principal_prober
from ztauth_cli.ledger import load
from ztauth_cli.model.globs import glob_match
from ztauth_cli.search import Candidates, search_principals

NOW = datetime(2026, 6, 1, 12, tzinfo=timezone.utc)
IDP = "https://idp.example"
USERS = ("alice", "bob", "carol")
DOCS = ("d1", "d2")
WORKLOADS = ("spiffe://ex/app/a", "spiffe://ex/app/b", "spiffe://ex/bot/c")
ACTIONS = ("read", "edit")

GRANTS = st.lists(
    st.fixed_dictionaries(
        {
            "delegator": st.sampled_from([None, *USERS]),
            "delegate": st.sampled_from(
                ["group:apps", "group:bots", *[f"workload:{w}" for w in WORKLOADS]]
            ),
            "actions": st.lists(st.sampled_from(ACTIONS), min_size=1, max_size=2, unique=True),
            "consent": st.booleans(),
        }
    ),
    min_size=1,
    max_size=4,
)


def _write(root: Path, grants: list[dict[str, Any]], revoked: bool) -> None:
    documents = [
        "apiVersion: ztauth/v1\nkind: TrustLevel\nname: basic\nrank: 1\n",
        "apiVersion: ztauth/v1\nkind: SecurityGroup\nname: apps\ntrust_level: basic\n"
        'members: ["spiffe://ex/app/*"]\n'
        + ('revoked: ["spiffe://ex/app/b"]\n' if revoked else ""),
        "apiVersion: ztauth/v1\nkind: SecurityGroup\nname: bots\ntrust_level: basic\n"
        'members: ["spiffe://ex/bot/c"]\n',
        f"apiVersion: ztauth/v1\nkind: Issuer\nname: {IDP}\njwks: keys/idp.jwks.json\n"
        "algorithms: [EdDSA]\nissues: [consent]\n",
    ]
    for index, grant in enumerate(grants):
        kind, _, name = grant["delegate"].partition(":")
        delegator = (
            "{type: User}"
            if grant["delegator"] is None
            else (f"{{type: User, id: {grant['delegator']}}}")
        )
        consent = f"{{required: true, issuer: {IDP}}}" if grant["consent"] else "{required: false}"
        documents.append(
            f"apiVersion: ztauth/v1\nkind: Delegation\nid: grant-{index}\n"
            f'delegator: {delegator}\ndelegate: {{{kind}: "{name}"}}\n'
            f"scope: {{actions: [{', '.join(grant['actions'])}], resources: {{type: Doc}}}}\n"
            f"consent: {consent}\nmax_depth: 0\n"
        )
    users = [{"uid": {"type": "User", "id": u}, "attrs": {}, "parents": []} for u in USERS]
    docs = [
        {
            "uid": {"type": "Doc", "id": d},
            "attrs": {"owner": {"__entity": {"type": "User", "id": o}}},
            "parents": [],
        }
        for d, o in zip(DOCS, ("alice", "bob"), strict=True)
    ]
    write_ledger(
        root,
        manifest=(
            "apiVersion: ztauth/v1\nkind: Ledger\nmetadata: {name: gen}\n"
            "ledger: ztauth://gen.example/100000000000/ledgers/gen\n"
            'runtime: {language: cedar, version: "4"}\n'
        ),
        policies={
            "docs": '@id("owner")\npermit (principal, action, resource is Doc)\n'
            "when { resource.owner == principal };\n"
            '@id("read-all")\npermit (principal, action == Action::"read", resource is Doc);'
        },
        entities={"people": users, "docs": docs},
        trust={"trust": "---\n".join(documents)},
        keys={"idp": '{"keys": []}'},
    )


@settings(max_examples=15)
@given(grants=GRANTS, revoked=st.booleans())
def test_forward_and_reverse_principal_search_agree(
    grants: list[dict[str, Any]], revoked: bool
) -> None:
    with tempfile.TemporaryDirectory(prefix="ztauth-principal-") as folder:
        root = Path(folder)
        _write(root, grants, revoked)
        ledger = load(root)
    prober = principal_prober(ledger, pin=None)
    candidates = Candidates.from_ledger(ledger)
    forward: set[tuple[str, str, str, str, str]] = set()
    for user in USERS:
        for action in ACTIONS:
            for doc in DOCS:
                request = {
                    "subject": {"type": "User", "id": user},
                    "action": {"name": action},
                    "resource": {"type": "Doc", "id": doc},
                }
                for row in search_principals(
                    prober, request, candidates=candidates, now=NOW
                ).results:
                    forward.add((row.actor, user, action, doc, row.via))
                    assert row.requires.consent == grants[int(row.via.split("-")[-1])]["consent"]
                    # A revoked workload is never an answer, and a grant's subjects bound it.
                    assert not (revoked and row.actor == "spiffe://ex/app/b")
                    delegator = grants[int(row.via.split("-")[-1])]["delegator"]
                    assert delegator in (None, user)
                    assert action in grants[int(row.via.split("-")[-1])]["actions"]
    reverse: set[tuple[str, str, str, str, str]] = set()
    # spiffe://ex/app/z is named by no grant: it stands for "any other member of the glob".
    for workload in (*WORKLOADS, "spiffe://ex/app/z"):
        request = {"authorization_model": {"principal": {"type": "Workload", "id": workload}}}
        for row in search_principals(prober, request, candidates=candidates, now=NOW).results:
            reverse.add((workload, row.subject[1], row.action, row.resource[1], row.via))
    # Forward rows name a glob (spiffe://ex/app/*) or a workload; reverse rows a workload.
    for actor, *rest in forward:
        assert any(glob_match(w, actor) and rest == r for w, *r in reverse), (actor, rest)
    for workload, *rest in reverse:
        assert any(glob_match(workload, a) and rest == f for a, *f in forward), (
            workload,
            rest,
        )
