from __future__ import annotations

from pathlib import Path

import pytest

from tests.support.ledgers import manifest
from tests.support.repo import write_files
from ztauth_cli.errors import DocumentError, SuiteError, UsageError
from ztauth_cli.ledger import load
from ztauth_cli.testing import ledger_suites, load_suite_paths, select_cases

MANIFEST = manifest("ztauth://acme.internal/273165098782/ledgers/demo", name="demo")


def suite(name: str, *cases: str, extra: str = "") -> str:
    body = "".join(
        f"  - name: {case}\n"
        "    request: {subject: {type: User, id: a}, action: {name: read}, "
        "resource: {type: Doc, id: d}}\n"
        "    expect: {decision: deny}\n"
        for case in cases
    )
    return f"apiVersion: ztauth/v1\nkind: TestSuite\nname: {name}\n{extra}cases:\n{body}"


def test_ledger_suites_in_file_order(tmp_path: Path) -> None:
    write_files(
        tmp_path,
        {
            "ztauth.yaml": MANIFEST,
            "tests/b.yaml": suite("second", "x"),
            "tests/a.yaml": suite("first", "y", "z") + "---\n" + suite("first-b", "w"),
        },
    )
    suites = ledger_suites(load(tmp_path))
    assert [s.name for s in suites] == ["first", "first-b", "second"]
    assert [c.name for c in suites[0].cases] == ["y", "z"]
    assert str(suites[2].cases[0].span) == "tests/b.yaml:5:5"


def test_malformed_ledger_suite_is_reported_with_line(tmp_path: Path) -> None:
    bad = suite("s", "x").replace("decision: deny", "decision: maybe")
    write_files(tmp_path, {"ztauth.yaml": MANIFEST, "tests/a.yaml": bad})
    ledger = load(tmp_path)  # suites never stop a strict load: only `ztauth test` cares
    with pytest.raises(DocumentError, match=r"TestSuite: cases/0/expect/decision: 'maybe'") as info:
        ledger_suites(ledger)
    assert str(info.value.span) == "tests/a.yaml:7:24"


def test_duplicate_case_names_are_refused(tmp_path: Path) -> None:
    write_files(tmp_path, {"ztauth.yaml": MANIFEST, "tests/a.yaml": suite("s", "x", "x")})
    with pytest.raises(SuiteError, match="duplicate case 'x' in suite 's'") as info:
        ledger_suites(load(tmp_path))
    assert str(info.value.span) == "tests/a.yaml:8:5"


def test_unknown_token_reference_is_refused_before_running(tmp_path: Path) -> None:
    text = suite("s", "x").replace("id: a}", "id: a}, tokens: {txn: {$token: nope}}")
    write_files(tmp_path, {"ztauth.yaml": MANIFEST, "tests/a.yaml": text})
    with pytest.raises(
        SuiteError, match=r"case 'x': unknown token 'nope' \(suite 's' declares: none\)"
    ):
        ledger_suites(load(tmp_path))


def test_a_token_reference_with_other_keys_is_refused_before_running(tmp_path: Path) -> None:
    # The same check as when the request is resolved: found at discovery, not mid-run.
    text = suite("s", "x").replace("id: a}", "id: a}, tokens: {txn: {$token: t, alg: none}}")
    write_files(tmp_path, {"ztauth.yaml": MANIFEST, "tests/a.yaml": text})
    with pytest.raises(SuiteError, match=r"case 'x': a token reference must be exactly"):
        ledger_suites(load(tmp_path))


def test_suite_paths_inside_and_outside_the_ledger(tmp_path: Path) -> None:
    ledger = tmp_path / "ledger"
    outside = tmp_path / "extra"
    write_files(ledger, {"ztauth.yaml": MANIFEST, "tests/a.yaml": suite("in", "x")})
    write_files(outside, {"more/b.yml": suite("out", "y"), "notes.txt": "not a suite"})
    suites = load_suite_paths([ledger / "tests" / "a.yaml", outside], ledger_root=ledger)
    assert [s.name for s in suites] == ["in", "out"]
    assert suites[0].span.path == "tests/a.yaml"
    assert suites[1].span.path == (outside / "more" / "b.yml").as_posix()


def test_suite_path_errors(tmp_path: Path) -> None:
    write_files(tmp_path, {"ztauth.yaml": MANIFEST, "x.yaml": "kind: Issuer\n", "y.yaml": "a: [\n"})
    with pytest.raises(UsageError, match="does not exist"):
        load_suite_paths([tmp_path / "missing.yaml"], ledger_root=tmp_path)
    with pytest.raises(DocumentError, match="expected kind: TestSuite, found 'Issuer'"):
        load_suite_paths([tmp_path / "x.yaml"], ledger_root=tmp_path)
    with pytest.raises(DocumentError, match="invalid YAML") as info:
        load_suite_paths([tmp_path / "y.yaml"], ledger_root=tmp_path)
    assert info.value.span is not None
    assert info.value.span.path == "y.yaml"


def test_duplicate_suite_names_across_paths(tmp_path: Path) -> None:
    write_files(tmp_path, {"a.yaml": suite("s", "x"), "b.yaml": suite("s", "y")})
    with pytest.raises(
        SuiteError, match=r"duplicate test suite 's' \(first defined at a.yaml:1:1\)"
    ):
        load_suite_paths([tmp_path], ledger_root=tmp_path)


@pytest.mark.parametrize(
    ("pattern", "expected", "deselected"),
    [
        (None, ["alpha/read one", "alpha/read two", "beta/write"], 0),
        ("read", ["alpha/read one", "alpha/read two"], 1),
        ("ALPHA/READ T", ["alpha/read two"], 2),
        ("beta", ["beta/write"], 2),
        ("nothing", [], 3),
    ],
    ids=["all", "case-substring", "suite-slash-case", "suite-name", "none"],
)
def test_select_cases(
    tmp_path: Path, pattern: str | None, expected: list[str], deselected: int
) -> None:
    write_files(
        tmp_path,
        {
            "ztauth.yaml": MANIFEST,
            "tests/a.yaml": suite("alpha", "read one", "read two"),
            "tests/b.yaml": suite("beta", "write"),
        },
    )
    chosen, dropped = select_cases(ledger_suites(load(tmp_path)), pattern)
    assert [f"{s.name}/{c.name}" for s in chosen for c in s.cases] == expected
    assert dropped == deselected
