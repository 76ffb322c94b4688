"""The trust graph of a ledger, its views and its diff between revisions."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest

from tests.conftest import SAMPLE_LEDGER
from ztauth_cli.graph import diff_graphs, trust_graph
from ztauth_cli.ledger import load
from ztauth_cli.model import Ledger

ASSISTANTS = "workload/spiffe://acme.internal/assistant/*"


@pytest.fixture(scope="module")
def sample() -> Ledger:
    return load(Path(SAMPLE_LEDGER))


def test_members_revoked_levels_and_grants_are_edges(sample: Ledger) -> None:
    edges = {(e.source, e.target, e.kind, e.label) for e in trust_graph(sample).edges}
    assert (ASSISTANTS, "group/ai-assistants", "member", "pattern") in edges
    assert (
        "workload/spiffe://acme.internal/assistant/legacy",
        "group/ai-assistants",
        "revoked",
        "revoked",
    ) in edges
    assert ("group/ai-assistants", "level/attested", "holds", "") in edges
    assert (
        "level/attested",
        "issuer/https://attest.acme.internal",
        "attested_by",
        "attestation <= 10m",
    ) in edges
    assert (
        "subjects/User",
        "delegation/user-assistant-read",
        "delegates",
        "read, summarize; depth 1",
    ) in edges
    assert ("group/billing-workers", "elevation/billing-acts-for-customer", "actor", "") in edges


def test_the_subject_view_keeps_only_grants_that_may_act_for_it(sample: Ledger) -> None:
    dave = {n.id for n in trust_graph(sample, subject=("User", "dave")).nodes}
    carol = {n.id for n in trust_graph(sample, subject=("User", "carol")).nodes}
    assert "delegation/carol-reporting-export" in carol
    assert "delegation/carol-reporting-export" not in dave
    assert "group/reporting-exporters" not in dave


def test_the_workload_view_follows_its_groups_and_never_a_revoked_one(sample: Ledger) -> None:
    chat = trust_graph(sample, workload="spiffe://acme.internal/assistant/chat")
    assert {n.id for n in chat.nodes if n.kind in ("elevation", "delegation")} == {
        "delegation/user-assistant-read"
    }
    legacy = trust_graph(sample, workload="spiffe://acme.internal/assistant/legacy")
    assert [n for n in legacy.nodes if n.kind in ("elevation", "delegation")] == []


def test_diff_marks_added_removed_and_widened_edges(sample: Ledger) -> None:
    old = trust_graph(sample)
    wider = dataclasses.replace(sample.delegations[0], actions=("read", "summarize", "share"))
    changed = dataclasses.replace(
        sample,
        delegations=(wider, sample.delegations[2]),
        groups=(
            dataclasses.replace(
                sample.groups[0],
                members=(*sample.groups[0].members, "spiffe://acme.internal/mail/*"),
            ),
            *sample.groups[1:],
        ),
    )
    changes = {
        (c.change, c.edge.source, c.edge.target, c.edge.kind)
        for c in diff_graphs(old, trust_graph(changed))
    }
    assert ("widened", "subjects/User", "delegation/user-assistant-read", "delegates") in changes
    assert (
        "added",
        "workload/spiffe://acme.internal/mail/*",
        "group/ai-assistants",
        "member",
    ) in changes
    assert ("removed", "subjects/User", "delegation/user-gateway-session", "delegates") in changes
