"""How request JSON becomes Cedar values, and what a request may describe (engine/entities.py).

Exact tables: each JSON value and the Cedar value (or the note) it gives; each route of
request data and what reaches Cedar from it.
"""

from __future__ import annotations

import math
from datetime import datetime, timezone
from typing import Any

import pytest

from ztauth_cli.engine.entities import (
    EntityRules,
    cedar_record,
    describe_entities,
    referenced_uids,
)
from ztauth_cli.engine.request import parse_request
from ztauth_cli.model import RequestEntityRule

DEC = "__extn"


@pytest.mark.parametrize(
    ("value", "cedar"),
    [
        ("web", "web"),
        ("café", "café"),
        (True, True),
        (7, 7),
        (-(2**63), -(2**63)),
        (2**63 - 1, 2**63 - 1),
        (100.0, 100),
        (-0.0, 0),
        (0.15, {DEC: {"fn": "decimal", "arg": "0.1500"}}),
        (-1.5, {DEC: {"fn": "decimal", "arg": "-1.5000"}}),
        (922337203685477.5, {DEC: {"fn": "decimal", "arg": "922337203685477.5000"}}),
        (["a", 1, [True]], ["a", 1, [True]]),
        (("a", "b"), ["a", "b"]),
        ({"a": {"b": "c"}}, {"a": {"b": "c"}}),
        ({"type": "User", "id": "alice"}, {"type": "User", "id": "alice"}),
    ],
    ids=repr,
)
def test_values_cedar_can_hold(value: Any, cedar: Any) -> None:
    notes: list[str] = []
    assert cedar_record({"v": value}, "context", notes) == {"v": cedar}
    assert notes == []


@pytest.mark.parametrize(
    ("value", "note"),
    [
        (None, "context.v: null is not a Cedar value; left out"),
        (2**63, "context.v: 9223372036854775808 is outside Cedar's 64-bit integer range; left out"),
        (-(2**63) - 1, "context.v: -9223372036854775809 is outside Cedar's 64-bit integer range"),
        # An integral float beyond 64 bits (int(1e300) is 1000000000000000052504760...).
        (1e300, "context.v: 10000000000000000525047602552044202487044685811081591549158541"),
        (0.12345, "context.v: 0.12345 has more than 4 decimal places"),
        (922337203685478.5, "context.v: 922337203685478.5 is outside the range of a Cedar decimal"),
        (1e-5, "context.v: 1e-05 has more than 4 decimal places"),
        (math.nan, "context.v: nan is not a number Cedar holds; left out"),
        (math.inf, "context.v: inf is not a number Cedar holds; left out"),
        ("\ud800", "context.v: a string with an unpaired surrogate is not text Cedar holds"),
        (datetime(2026, 1, 1, tzinfo=timezone.utc), "context.v: a datetime is not a JSON value"),
        (b"x", "context.v: a bytes is not a JSON value"),
        (
            {"__entity": {"type": "User", "id": "alice"}},
            "context.v: a JSON object with the key __entity is Cedar escape syntax, not plain "
            "data; left out",
        ),
        (
            {"__extn": {"fn": "ip", "arg": "10.0.0.1"}},
            "context.v: a JSON object with the key __extn",
        ),
        ({"__expr": "1"}, "context.v: a JSON object with the key __expr"),
        (
            ["a", None],
            "context.v[1]: null is not a Cedar value; left out (context.v is left out as a whole)",
        ),
    ],
    ids=repr,
)
def test_values_cedar_cannot_hold_are_left_out_with_a_note(value: Any, note: str) -> None:
    notes: list[str] = []
    assert cedar_record({"v": value, "keep": "me"}, "context", notes) == {"keep": "me"}
    assert len(notes) == 1
    assert notes[0].startswith(note), notes


def test_a_record_only_loses_the_field_cedar_cannot_hold() -> None:
    notes: list[str] = []
    data = {"ticket": {"id": "T-1", "approved": None, "by": {"__entity": {"type": "U", "id": "x"}}}}
    assert cedar_record(data, "context", notes) == {"ticket": {"id": "T-1"}}
    assert notes == [
        "context.ticket.approved: null is not a Cedar value; left out",
        "context.ticket.by: a JSON object with the key __entity is Cedar escape syntax, not "
        "plain data; left out",
    ]


def test_escape_keys_and_odd_names_at_the_top_are_left_out() -> None:
    notes: list[str] = []
    data: dict[Any, Any] = {"__entity": {"type": "U", "id": "x"}, 3: "x", "\udc00": "y", "ok": 1}
    assert cedar_record(data, "context", notes) == {"ok": 1}
    assert notes == [
        "context.__entity: the key __entity is Cedar escape syntax, not data; left out",
        "context: a field name Cedar cannot hold is left out",
        "context: a field name Cedar cannot hold is left out",
    ]


def test_the_ledgers_referenced_uids_include_parents_and_entity_values() -> None:
    entities = [
        {
            "uid": {"type": "User", "id": "erin"},
            "attrs": {
                "manager": {"__entity": {"type": "User", "id": "boss"}},
                "team": {"type": "Team", "id": "t"},  # schema-form reference
                "peers": [{"__entity": {"type": "User", "id": "pat"}}],
            },
            "parents": [{"type": "Role", "id": "contractors"}],
        }
    ]
    assert referenced_uids(entities) == {
        ("User", "erin"),
        ("User", "boss"),
        ("Team", "t"),
        ("User", "pat"),
        ("Role", "contractors"),
    }


def test_entity_rules_exact_type_then_star_and_never_action_parents() -> None:
    rules = EntityRules(
        (
            RequestEntityRule(type="*", attributes=False, parents=True),
            RequestEntityRule(type="Document", attributes=True, parents=False),
            RequestEntityRule(type="Ns::Action", attributes=True, parents=True),
        )
    )
    assert (rules.attributes("Document"), rules.parents("Document")) == (True, False)
    assert (rules.attributes("Folder"), rules.parents("Folder")) == (False, True)
    assert (rules.attributes("Ns::Action"), rules.parents("Ns::Action")) == (True, False)
    assert rules.parents("Action") is False
    none = EntityRules(())
    assert (none.attributes("Document"), none.parents("Document")) == (False, False)
    default = EntityRules()
    assert (default.attributes("Anything"), default.parents("Anything")) == (True, False)


def _describe(raw: dict[str, Any], *, defined: set[tuple[str, str]], rules: EntityRules) -> Any:
    return describe_entities(parse_request(raw), defined=defined.__contains__, rules=rules)


BASE = {
    "subject": {"type": "User", "id": "alice"},
    "action": {"name": "read"},
    "resource": {"type": "Document", "id": "d"},
}


def test_every_route_and_what_reaches_cedar() -> None:
    raw = {
        **BASE,
        "subject": {"type": "User", "id": "alice", "properties": {"role": "admin"}},
        "resource": {"type": "Document", "id": "d", "properties": {"size": 3}},
        "action": {"name": "read", "properties": {"soft": True}},
        "authorization_model": {
            "principal": {"type": "Workload", "id": "w", "properties": {"zone": "eu"}},
            "chain": [{"principal": {"type": "Workload", "id": "g", "properties": {"a": 1}}}],
            "entities": [
                {"uid": {"type": "Folder", "id": "f"}, "attrs": {"n": 1}, "tags": {"t": "x"}},
                {"uid": {"type": "Folder", "id": "g"}, "parents": [{"type": "Folder", "id": "f"}]},
                {"uid": {"type": "Team", "id": "empty"}},
            ],
        },
    }
    entities, notes = _describe(raw, defined={("User", "alice")}, rules=EntityRules())
    assert entities == {
        ("Folder", "f"): {
            "uid": {"type": "Folder", "id": "f"},
            "attrs": {"n": 1},
            "parents": [],
            "tags": {"t": "x"},
        },
        ("Folder", "g"): {"uid": {"type": "Folder", "id": "g"}, "attrs": {}, "parents": []},
        ("Team", "empty"): {"uid": {"type": "Team", "id": "empty"}, "attrs": {}, "parents": []},
        ("Document", "d"): {
            "uid": {"type": "Document", "id": "d"},
            "attrs": {"size": 3},
            "parents": [],
        },
        ("Workload", "w"): {
            "uid": {"type": "Workload", "id": "w"},
            "attrs": {"zone": "eu"},
            "parents": [],
        },
        ("Action", "read"): {
            "uid": {"type": "Action", "id": "read"},
            "attrs": {"soft": True},
            "parents": [],
        },
    }
    assert sorted(notes) == [
        "authorization_model.chain[0].principal.properties (a) are ignored: a chain hop is "
        "checked against the trust model, never described to Cedar",
        'authorization_model.entities[1]: parents of Folder::"g" (Folder::"f") are ignored: '
        "settings.request_entities does not let a request give Folder entities parents",
        'subject.properties: User::"alice" is defined by the ledger; the request\'s attributes '
        "(role) are ignored",
    ]


def test_opted_in_parents_and_a_ledger_entity_with_everything() -> None:
    rules = EntityRules((RequestEntityRule(type="Folder", attributes=False, parents=True),))
    raw = {
        **BASE,
        "authorization_model": {
            "entities": [
                {
                    "uid": {"type": "Folder", "id": "g"},
                    "attrs": {"n": 1},
                    "parents": [{"type": "Folder", "id": "f"}, {"type": "Folder", "id": "f"}],
                },
                {
                    "uid": {"type": "User", "id": "alice"},
                    "attrs": {"a": 1},
                    "parents": [{"type": "Role", "id": "r"}],
                    "tags": {"t": 1},
                },
            ]
        },
    }
    entities, notes = _describe(raw, defined={("User", "alice")}, rules=rules)
    assert entities == {
        ("Folder", "g"): {
            "uid": {"type": "Folder", "id": "g"},
            "attrs": {},
            "parents": [{"type": "Folder", "id": "f"}],
        }
    }
    assert notes == [
        'authorization_model.entities[0]: attributes of Folder::"g" (n) are ignored: '
        "settings.request_entities does not let a request describe Folder entities",
        'authorization_model.entities[1]: User::"alice" is defined by the ledger; the '
        'request\'s attributes (a) and parents (Role::"r") and tags (t) are ignored',
    ]
