"""engine/cedar.py: statement splitting, positioned errors, schema validation, formatting."""

from __future__ import annotations

import dataclasses

import pytest

from ztauth_cli.engine import cedar as cedar_module
from ztauth_cli.engine.cedar import (
    CedarEngine,
    CedarOutcome,
    CedarPolicy,
    check_schema,
    format_cedar,
    parse_policy_files,
    policy_json,
    split_statements,
    validate_against_schema,
)
from ztauth_cli.errors import DocumentError
from ztauth_cli.model import PolicyFile, Span

POLICIES = """// owners read their documents
@id("owner-can-read")
permit (principal, action == Action::"read", resource)
when { resource.owner == principal.id };

@id("no-archived")  // archived documents are frozen
forbid (principal, action, resource)
when { resource has archived && resource.archived == true };
"""

SCHEMA = """entity User { id: String };
entity Document { owner: String, archived?: Bool };
action read appliesTo { principal: User, resource: Document };
"""


def _file(text: str, path: str = "policies/docs.cedar") -> PolicyFile:
    return PolicyFile(span=Span(path=path), text=text)


def test_split_statements_ignores_semicolons_in_strings_and_comments() -> None:
    text = '// a; comment\npermit (principal, action, resource)\nwhen { "a;b" == "a;b" };\n'
    assert split_statements(text) == [
        ('permit (principal, action, resource)\nwhen { "a;b" == "a;b" };', 2, 1)
    ]


def test_parse_policy_files_gives_ids_effects_and_first_lines() -> None:
    policies, errors = parse_policy_files([_file(POLICIES)])
    assert errors == ()
    assert [(p.id, p.effect, str(p.span)) for p in policies] == [
        ("owner-can-read", "permit", "policies/docs.cedar:2:1"),
        ("no-archived", "forbid", "policies/docs.cedar:6:1"),
    ]
    assert policies[0].text.startswith('@id("owner-can-read")')
    assert policies[0].file == "policies/docs.cedar"


def test_a_file_parsed_whole_gives_each_policy_the_form_it_has_alone() -> None:
    """One Cedar parse per file (statics and templates interleaved) must hand each statement
    exactly the JSON form, id and effect that parsing the statement alone gives."""
    text = (
        POLICIES
        + '\n@id("linkable")\npermit (principal == ?principal, action, resource);\n'
        + '@id("last")\nforbid (principal, action == Action::"delete", resource);\n'
    )
    policies, errors = parse_policy_files([_file(text)])
    assert errors == ()
    alone = [
        parse_policy_files([_file(statement)])[0][0] for statement, _, _ in split_statements(text)
    ]
    assert [(p.id, p.effect) for p in policies] == [
        ("owner-can-read", "permit"),
        ("no-archived", "forbid"),
        ("linkable", "permit"),
        ("last", "forbid"),
    ]
    assert [policy_json(p) for p in policies] == [policy_json(p) for p in alone]
    engine = CedarEngine(policies, [])
    assert engine.effects == {
        "owner-can-read": "permit",
        "no-archived": "forbid",
        "linkable": "permit",
        "last": "forbid",
    }


def test_syntax_error_points_at_the_broken_policy() -> None:
    text = POLICIES + '\n@id("broken")\npermit (principal, action, resource) when { 1 + };\n'
    policies, errors = parse_policy_files([_file(text)])
    assert [p.id for p in policies] == ["owner-can-read", "no-archived"]
    assert len(errors) == 1
    # At the token Cedar rejected ('1 + }'), not at the statement's first line.
    assert str(errors[0].span) == "policies/docs.cedar:11:49"
    assert errors[0].message == "Cedar syntax error: unexpected '}'"


def test_unterminated_policy_is_an_error() -> None:
    _, errors = parse_policy_files([_file("permit (principal, action, resource)")])
    assert [str(e) for e in errors] == [
        "policies/docs.cedar:1:37: Cedar syntax error: missing ';' at the end of the policy\n"
        "hint: add ';' here"
    ]


def test_policy_json_is_cedar_est() -> None:
    policies, _ = parse_policy_files([_file(POLICIES)])
    est = policy_json(policies[0])
    assert est["effect"] == "permit"
    assert est["action"] == {"op": "==", "entity": {"type": "Action", "id": "read"}}
    assert est["conditions"][0]["kind"] == "when"


def test_schema_validation_maps_errors_to_policy_spans() -> None:
    text = (
        POLICIES
        + '\n@id("typo")\npermit (principal, action, resource) when { resource.ownr == "x" };\n'
    )
    policies, _ = parse_policy_files([_file(text)])
    errors = validate_against_schema(policies, SCHEMA, schema_path="schema.cedarschema")
    assert len(errors) == 1
    assert str(errors[0].span) == "policies/docs.cedar:10:1"
    assert "`typo`" in errors[0].message
    assert "ownr" in errors[0].message


def test_schema_validation_passes_for_good_policies() -> None:
    policies, _ = parse_policy_files([_file(POLICIES)])
    assert validate_against_schema(policies, SCHEMA, schema_path="schema.cedarschema") == ()


def test_check_schema_locates_unknown_types() -> None:
    assert check_schema(SCHEMA, schema_path="schema.cedarschema") is None
    bad = "entity User { id: String };\nentity Doc { owner: Usr };\n"
    problem = check_schema(bad, schema_path="schema.cedarschema")
    assert problem is not None
    assert str(problem.span) == "schema.cedarschema:2:21"
    assert "Usr" in problem.message


def test_format_cedar_formats_and_rejects_bad_text() -> None:
    formatted = format_cedar('@id("a") permit(principal,action,resource);')
    assert formatted == '@id("a")\npermit (principal, action, resource);\n'
    with pytest.raises(DocumentError, match="Cedar syntax error") as info:
        format_cedar('@id("a") permit(principal,action,resource);\n\nforbid(principal, action;')
    assert info.value.span is not None
    assert info.value.span.line == 3


def test_engine_rejects_duplicate_ids() -> None:
    policies, _ = parse_policy_files([_file(POLICIES), _file(POLICIES, "policies/copy.cedar")])
    with pytest.raises(DocumentError, match="duplicate policy @id 'owner-can-read'"):
        CedarEngine(policies, [])


def _request() -> dict[str, object]:
    return {
        "principal": {"type": "User", "id": "alice"},
        "action": {"type": "Action", "id": "read"},
        "resource": {"type": "Document", "id": "d1"},
        "context": {},
    }


def test_engine_reports_ids_and_fails_closed_on_erroring_forbid() -> None:
    text = (
        POLICIES
        + '\n@id("flaky")\nforbid (principal, action, resource) when { context.missing == 1 };\n'
    )
    policies, _ = parse_policy_files([_file(text)])
    entities = [
        {"uid": {"type": "User", "id": "alice"}, "attrs": {"id": "alice"}, "parents": []},
        {"uid": {"type": "Document", "id": "d1"}, "attrs": {"owner": "alice"}, "parents": []},
    ]
    engine = CedarEngine(policies, entities)
    [outcome] = engine.authorize_batch([_request()], engine.entities)
    # Cedar alone would allow: it skips the erroring forbid.
    assert outcome.allowed is False
    assert outcome.determining == ("owner-can-read",)
    assert outcome.errored_forbids == ("flaky",)

    plain = CedarEngine(policies[:2], entities)
    [ok] = plain.authorize_batch([_request()], plain.entities)
    assert ok.allowed is True
    assert ok.determining == ("owner-can-read",)
    # The ledger's own entity is never replaced or merged into, even if an addition names it
    # (defence in depth behind describe_entities); an entity the ledger lacks is added.
    rewritten = plain.entities_for({("Document", "d1"): _doc("d1", archived=True)})
    [still] = plain.authorize_batch([_request()], rewritten)
    assert (still.allowed, still.determining) == (True, ("owner-can-read",))
    added = plain.entities_for({("Document", "d2"): _doc("d2", archived=True)})
    [denied] = plain.authorize_batch([{**_request(), "resource": _doc("d2")["uid"]}], added)
    assert denied.allowed is False
    assert denied.determining == ("no-archived",)


def test_batch_answers_match_cedarpys_own_results(monkeypatch: pytest.MonkeyPatch) -> None:
    # The engine reads Cedar's answers as text, each distinct one once; cedarpy's wrapper
    # (the path taken when its batch call is not there) must give the very same outcomes:
    # allowed, denied, a forbid erroring, a permit erroring, a request the schema refuses.
    text = (
        POLICIES
        + '\n@id("flaky")\nforbid (principal, action, resource) when { context.missing == 1 };\n'
        + '\n@id("odd")\npermit (principal, action, resource) when { context.n > 1 };\n'
    )
    policies, _ = parse_policy_files([_file(text)])
    entities = [
        {"uid": {"type": "User", "id": "alice"}, "attrs": {"id": "alice"}, "parents": []},
        {"uid": {"type": "Document", "id": "d1"}, "attrs": {"owner": "alice"}, "parents": []},
        _doc("d2", archived=True),
    ]
    requests: list[dict[str, object]] = [
        {**_request(), "context": {"missing": 1}},
        {**_request(), "context": {"missing": 2, "n": 5}},
        _request(),
        {**_request(), "context": {"missing": 1, "n": "x"}},
        {**_request(), "resource": _doc("d2")["uid"], "context": {"missing": 1}},
        {**_request(), "principal": {"type": "User", "id": "bob"}, "context": None},
        {**_request(), "principal": {"type": "User", "id": 'quo"te'}, "context": {"n": 2}},
    ]
    plain = CedarEngine(policies, entities)
    typed = CedarEngine(
        policies, entities[:2], schema=(SCHEMA + "entity Other;\n", "schema.cedarschema")
    )
    seen = []
    for engine in (plain, typed):
        batch = [*requests, *requests]  # twice: the second time every answer is known
        fast = engine.authorize_batch(batch, engine.entities)
        monkeypatch.setattr(cedar_module, "_raw_batch", lambda: None)
        wrapped = engine.authorize_batch(batch, engine.entities)
        monkeypatch.undo()
        assert fast == wrapped
        seen += fast
    assert {o.allowed for o in seen} == {True, False}
    assert any(o.errored_forbids for o in seen)
    assert any(o.errors and not o.errored_forbids for o in seen)
    assert any(o.request_error for o in seen)


def _doc(id_: str, *, archived: bool = False) -> dict[str, object]:
    return {
        "uid": {"type": "Document", "id": id_},
        "attrs": {"owner": "alice", "archived": archived},
        "parents": [],
    }


_TWO = (
    '@id("a")\npermit (principal, action, resource)\n\n'
    '@id("b")\npermit (principal, action, resource);\n'
)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (
            _TWO,
            "policies/docs.cedar:2:37: Cedar syntax error: missing ';' at the end of the policy\n"
            "hint: add ';' here, before the policy at line 4",
        ),
        (
            '@id("a")\npermit (principal, action, resource)\nwhen { resource.owner == principal\n',
            "policies/docs.cedar:3:6: Cedar syntax error: '{' is never closed\n"
            "hint: close it with '}'; then end the policy with ';'",
        ),
        (
            '@id("a")\npermit (principal, action, resource)\nwhen { principal.x = 1 };\n',
            "policies/docs.cedar:3:20: Cedar syntax error: '=' is not a valid operator in Cedar\n"
            "hint: compare with '==' ('=' is not a Cedar operator)",
        ),
        (
            '@id("a")\npermit (principal, action, resource) when { a and b };\n',
            "policies/docs.cedar:2:47: Cedar syntax error: unexpected 'and'\n"
            "hint: Cedar writes 'and' as '&&'",
        ),
        (
            '@id("a")\npermit (principal, action resource);\n',
            "policies/docs.cedar:2:27: Cedar syntax error: unexpected 'resource'\n"
            "hint: is a ',' or an operator missing before 'resource'?",
        ),
        (
            '@id("a")\npermit (principal, actoin, resource);\n',
            "policies/docs.cedar:2:20: Cedar syntax error: "
            "found an invalid variable in the policy scope: actoin",
        ),
        (
            '@id("a")\npermit (principal, action, resource) when { "abc };\n',
            "policies/docs.cedar:2:45: Cedar syntax error: string is never closed\n"
            "hint: close it with '\"' on the same line",
        ),
        (
            '@id("a")\npermit (principal, action, resource) when { (principal.a == 1 };\n',
            "policies/docs.cedar:2:63: Cedar syntax error: '}' closes nothing: '(' is still open\n"
            "hint: close '(' with ')' first",
        ),
    ],
    ids=[
        "missing-semicolon",
        "unclosed-brace",
        "single-equals",
        "and",
        "missing-comma",
        "bad-variable",
        "unclosed-string",
        "mismatched-bracket",
    ],
)
def test_syntax_errors_point_at_the_offending_token(text: str, expected: str) -> None:
    _, errors = parse_policy_files([_file(text)])
    assert [str(e) for e in errors] == [expected]


def test_a_missing_semicolon_does_not_hide_the_next_policy() -> None:
    policies, errors = parse_policy_files([_file(_TWO)])
    # The second policy is parsed on its own: it is a policy, not part of the error.
    assert [p.id for p in policies] == ["b"]
    assert [str(p.span) for p in policies] == ["policies/docs.cedar:4:1"]
    assert len(errors) == 1


# ----------------------------------------------------------------------------- engine reading


def _cedar_files() -> list[PolicyFile]:
    from tests.conftest import REPO_ROOT

    found = sorted(REPO_ROOT.glob("sample-ledger/**/*.cedar"))
    found += sorted(REPO_ROOT.glob("ztauth_cli/templates/**/*.cedar"))
    return [_file(path.read_text(), str(path.relative_to(REPO_ROOT))) for path in found]


TRICKY = """@owner("team-a")
// a comment between annotations
@advice("read only") @id("b")
permit (principal, action, resource);
@id  (  "spaced"  )
forbid (principal, action, resource) when { "@id(\\"x\\")" == "" };
permit (principal == ?principal, action, resource);
"""


def _read(policy: cedar_module.CedarPolicy) -> tuple[object, ...]:
    return (policy.id, policy.effect, str(policy.span), policy.text, policy.file)


@pytest.mark.parametrize("text", [POLICIES, TRICKY], ids=["docs", "tricky"])
def test_the_engine_reads_each_policy_as_cedar_parses_it(text: str) -> None:
    quick = cedar_module.engine_policies([_file(text)])
    parsed, errors = parse_policy_files([_file(text)])
    assert errors == ()
    assert quick is not None
    assert [_read(p) for p in quick] == [_read(p) for p in parsed]


def test_the_engine_reads_the_bundled_ledgers_as_cedar_parses_them() -> None:
    files = _cedar_files()
    assert files
    quick = cedar_module.engine_policies(files)
    parsed, errors = parse_policy_files(files)
    assert errors == ()
    assert quick is not None
    assert [_read(p) for p in quick] == [_read(p) for p in parsed]


@pytest.mark.parametrize(
    "text",
    [
        '@id("esc\\u{41}ped")\npermit (principal, action, resource);',  # Cedar unescapes
        "@id\npermit (principal, action, resource);",  # a valueless annotation
        "permit (principal, action, resource)",  # no ';'
        '@id("x") allow (principal, action, resource);',  # not an effect
        '@id("a") @id("b") permit (principal, action, resource);',  # Cedar refuses it
    ],
)
def test_a_head_only_cedar_can_read_is_left_to_cedar(text: str) -> None:
    assert cedar_module.engine_policies([_file(text)]) is None


def _reads_and_a_broken_forbid() -> tuple[CedarPolicy, ...]:
    text = (
        '@id("reads")\npermit (principal, action == Action::"read", resource);\n'
        '@id("broken-forbid")\nforbid (principal, action, resource) when { resource.missing };\n'
    )
    policies = cedar_module.engine_policies([_file(text)])
    assert policies is not None
    return policies


def _read_by_alice(policies: tuple[CedarPolicy, ...]) -> CedarOutcome:
    document = {"uid": {"type": "Doc", "id": "d"}, "attrs": {}, "parents": []}
    engine = CedarEngine(policies, [document])
    request = {
        "principal": 'User::"alice"',
        "action": 'Action::"read"',
        "resource": 'Doc::"d"',
        "context": {},
    }
    (outcome,) = engine.authorize_batch([request], engine.entities)
    return outcome


def test_cedar_numbers_are_translated_back_to_the_policies_ids() -> None:
    # Cedar answers by position in the one parsed text; the user reads @ids, in reasons and
    # in errors alike, and an erroring forbid still denies.
    quick = _reads_and_a_broken_forbid()
    outcome = _read_by_alice(quick)
    assert outcome.allowed is False
    assert outcome.determining == ("reads",)
    assert outcome.errored_forbids == ("broken-forbid",)
    assert any("policy `broken-forbid`" in error for error in outcome.errors)


def test_attack_a_forbid_misread_as_permit_still_denies_when_it_errors() -> None:
    # Whether an erroring policy may be skipped rests on its effect. Should the ledger's
    # reading of a head ever call a forbid a permit, the engine still asks Cedar's own parse,
    # so the erroring forbid denies instead of being skipped.
    quick = _reads_and_a_broken_forbid()
    misread = (quick[0], dataclasses.replace(quick[1], effect="permit"))
    outcome = _read_by_alice(misread)
    assert outcome.allowed is False
    assert outcome.errored_forbids == ("broken-forbid",)
