"""`ztauth policy diff` and `policy version bump auto` through the CLI, on real Git histories."""

from __future__ import annotations

import json
import re
import shlex
from collections.abc import Iterator
from pathlib import Path

import pytest
from typer.testing import CliRunner

from tests.diff.ledgers import MAIL, SUITE, base_files, changed_files
from tests.support.ledgers import public_jwks
from tests.support.repo import LedgerRepo
from tests.support.schemas import assert_valid
from ztauth_cli.cli.main import app

AT = ["--at", "2026-06-01T12:00:00Z"]


@pytest.fixture(scope="module")
def jwks() -> str:
    return public_jwks()


@pytest.fixture(scope="module")
def repo(tmp_path_factory: pytest.TempPathFactory, jwks: str) -> Iterator[LedgerRepo]:
    """v1.0.0 = base; v1.1.0 = an elevation action removed (narrowing only); HEAD = the rest."""
    repo = LedgerRepo(tmp_path_factory.mktemp("cli-diff") / "repo")
    repo.write(base_files(jwks))
    repo.commit("base")
    repo.tag("v1.0.0")
    changes = changed_files()
    repo.write({"trust/elevations.yaml": changes.pop("trust/elevations.yaml")})
    repo.commit("billing workers no longer refund")
    repo.tag("v1.1.0")
    repo.write(changes)
    repo.commit("the other three changes")
    yield repo
    repo.close()


def _diff(runner: CliRunner, repo: LedgerRepo, *args: str) -> tuple[int, str, str]:
    result = runner.invoke(app, ["policy", "diff", *args, "--ledger", str(repo.root), *AT])
    return result.exit_code, result.stdout, result.stderr


def test_text_report(runner: CliRunner, repo: LedgerRepo) -> None:
    code, out, err = _diff(runner, repo, "v1.0.0", "HEAD")
    assert code == 0, err
    lines = out.splitlines()
    assert lines[0].startswith("policy diff v1.0.0 (")
    assert lines[1] == (
        "WIDENS ACCESS: 4 widening, 4 narrowing, 0 neutral; 4 of 6 replayed decisions flip"
    )
    assert (
        # At the added member itself, in the target's groups.yaml.
        f"  WIDENING  group/ai-assistants: member {MAIL!r} added  (trust/groups.yaml:5:52)" in lines
    )
    assert (
        "  NARROWING policy/bob-reads-roadmap: effect permit -> forbid  (policies/docs.cedar:9:1)"
        in lines
    )
    assert "\x1b[" not in out  # plain text off a terminal


def test_text_report_fits_a_narrow_terminal_without_cutting_ids(
    runner: CliRunner, repo: LedgerRepo
) -> None:
    import re

    result = runner.invoke(
        app,
        ["policy", "diff", "v1.0.0", "HEAD", "--ledger", str(repo.root), *AT],
        env={"FORCE_COLOR": "1", "COLUMNS": "60"},  # a 60-column terminal
    )
    assert result.exit_code == 0, result.stderr
    text = re.sub(r"\x1b\[[0-9;]*m", "", result.stdout)
    assert max(len(line) for line in text.splitlines()) <= 60
    words = text.split()
    assert "group/ai-assistants:" in words
    assert "policy/bob-reads-roadmap:" in words
    assert "(trust/groups.yaml:5:52)" in words


@pytest.mark.parametrize(
    ("base", "target", "code"),
    [
        ("v1.0.0", "v1.1.0", 0),  # narrowing only
        ("v1.1.0", "HEAD", 1),  # member added, consent dropped
        ("HEAD~1", "HEAD", 1),
        ("HEAD", None, 0),  # working tree == HEAD
    ],
    ids=["tags-narrowing", "tag-to-head-widening", "head-parent", "worktree"],
)
def test_fail_on_widening(
    runner: CliRunner, repo: LedgerRepo, base: str, target: str | None, code: int
) -> None:
    args = [base] if target is None else [base, target]
    got, _, err = _diff(runner, repo, *args, "--fail-on-widening")
    assert got == code, err


def test_without_fail_on_widening_a_widening_diff_exits_0(
    runner: CliRunner, repo: LedgerRepo
) -> None:
    assert _diff(runner, repo, "v1.1.0", "HEAD")[0] == 0


def test_json_report_validates_against_its_schema(runner: CliRunner, repo: LedgerRepo) -> None:

    code, out, err = _diff(runner, repo, "v1.0.0", "v1.1.0", "--format", "json")
    assert code == 0, err
    document = json.loads(out)
    assert_valid(document, "diff-report")
    assert document["summary"] == {
        "widening": False,
        "widening_count": 0,
        "narrowing_count": 2,
        "neutral_count": 0,
        "policy_changes": 0,
        "trust_changes": 1,
        "decisions_evaluated": 6,
        "decision_flips": 1,
        "skipped": 0,
    }
    assert document["trust_changes"] == [
        {
            "area": "trust",
            "subject": "elevation/billing-acts-for-customer",
            "kind": "changed",
            "field": "actions",
            "impact": "narrowing",
            "summary": "action 'refund' removed",
            "before": "refund",
            "after": None,
            # A removed item is where it was: in the BASE elevations.yaml.
            "location": {"path": "trust/elevations.yaml", "line": 6, "column": 19},
        }
    ]
    (flip,) = document["decision_flips"]
    assert flip["name"] == "docs/billing worker refunds alice"
    assert flip["base"] == {
        "decision": "allow",
        "code": "allowed",
        "message": flip["base"]["message"],
        "via": "elevation/billing-acts-for-customer",
        "policies": ["customer-pays"],
    }
    assert (flip["target"]["decision"], flip["target"]["code"]) == ("deny", "insufficient_scope")
    assert document["base"]["revision"] == "v1.0.0"
    assert len(document["base"]["commit"]) == 40
    assert "no widening" in err


def test_full_json_report_validates_too(runner: CliRunner, repo: LedgerRepo) -> None:

    code, out, _ = _diff(runner, repo, "v1.0.0", "--format", "json")
    assert code == 0
    document = json.loads(out)
    assert_valid(document, "diff-report")
    assert document["target"] == {"revision": "working tree", "commit": None}
    assert [p["id"] for p in document["policy_changes"]] == ["bob-reads-roadmap"]


def test_markdown_report_for_a_pull_request(runner: CliRunner, repo: LedgerRepo) -> None:
    code, out, _ = _diff(runner, repo, "v1.0.0", "HEAD", "--format", "markdown")
    assert code == 0
    lines = out.splitlines()
    assert lines[0].startswith("### ztauth policy diff: `v1.0.0` (")
    # The verdict first (widens? by what?), then the counts.
    assert lines[2] == (
        "⚠️ **Widens access**: 2 decisions flip deny → allow; 2 trust changes widen access"
    )
    assert lines[4] == (
        "4 of 6 replayed decisions flip (2 deny → allow, 2 allow → deny) · 1 policy change and "
        "3 trust changes (2 widening, 2 narrowing, 0 neutral)"
    )
    # Every change in one table, most dangerous first: the consent change is on the path of
    # both widening flips, the new member of one; then the narrowing ones, a policy first.
    table = lines[lines.index("#### Changes, most dangerous first") + 4 :][:4]
    assert [row.split(" | ")[1] for row in table] == [
        "`delegation/user-assistant-read`",
        "`group/ai-assistants`",
        "`policy/bob-reads-roadmap`",
        "`elevation/billing-acts-for-customer`",
    ]
    assert "#### Decision flips" in lines
    assert "| Impact | Case / request | Base | Target | Determining policies |" in lines
    assert (
        '| ⚠️ widening | `docs/assistant reads without consent`<br>User::"alice" read '
        'Document::"q3-report" as Workload::"spiffe://acme.internal/assistant/chat" | '
        "**deny** `consent_required` — delegation/user-assistant-read: no consent token from "
        "alice | **allow** `allowed` via `delegation/user-assistant-read` | — → owner-can-read |"
    ) in lines
    assert (
        "| ⚠️ widening | `delegation/user-assistant-read` | consent no longer required | "
        "`trust/delegations.yaml:7:11` |"
    ) in lines
    assert "<details><summary>Policy changes (1)</summary>" in lines
    assert (
        '  + forbid (principal == User::"bob", action == Action::"read", '
        'resource == Document::"roadmap");'
    ) in lines
    assert "</details>" in lines


def test_output_file_and_requests(runner: CliRunner, repo: LedgerRepo, tmp_path: Path) -> None:
    requests = tmp_path / "requests.jsonl"
    requests.write_text(
        json.dumps(
            {
                "subject": {"type": "User", "id": "bob"},
                "action": {"name": "read"},
                "resource": {"type": "Document", "id": "roadmap"},
            }
        )
        + "\n",
        encoding="utf-8",
    )
    target = tmp_path / "diff.json"
    code, out, _ = _diff(
        runner,
        repo,
        "v1.1.0",
        "HEAD",
        "--requests",
        str(requests),
        "--format",
        "json",
        "--output",
        str(target),
    )
    assert (code, out) == (0, "")
    document = json.loads(target.read_text(encoding="utf-8"))
    requests_flips = [f for f in document["decision_flips"] if f["source"] == "request"]
    assert [(f["name"], f["impact"]) for f in requests_flips] == [
        (f"{requests.as_posix()}:1", "narrowing")
    ]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["nope"], "error: unknown revision 'nope'"),
        (["v1.0.0", "--format", "junit"], "does not support --format junit"),
        (["v1.0.0", "--at", "tomorrow"], "error: --at:"),
    ],
    ids=["bad-revision", "bad-format", "bad-clock"],
)
def test_usage_errors_exit_2(
    runner: CliRunner, repo: LedgerRepo, args: list[str], message: str
) -> None:
    result = runner.invoke(app, ["policy", "diff", *args, "--ledger", str(repo.root)])
    assert result.exit_code == 2
    assert message in result.stderr
    assert "Traceback" not in result.stderr


def test_bad_requests_file_exits_2_with_file_and_line(
    runner: CliRunner, repo: LedgerRepo, tmp_path: Path
) -> None:
    requests = tmp_path / "bad.jsonl"
    requests.write_text('{"subject": {"type": "User", "id": "a"}}\n{oops\n', encoding="utf-8")
    code, out, err = _diff(runner, repo, "v1.0.0", "--requests", str(requests))
    assert (code, out) == (2, "")
    assert f"error: {requests.as_posix()}:2:2: invalid JSON" in err


# ------------------------------------------------------------------------------ bump auto


def test_bump_auto_minor_on_deny_to_allow(runner: CliRunner, tmp_path: Path, jwks: str) -> None:
    repo = LedgerRepo(tmp_path / "repo")
    try:
        repo.write(base_files(jwks))
        repo.commit("base")
        repo.tag("v1.0.0")
        suite = SUITE.replace(
            "    expect: {decision: deny, code: consent_required}",
            "    expect: {decision: allow, via: delegation/user-assistant-read}",
        )
        assert suite != SUITE
        repo.write(
            {
                "trust/delegations.yaml": changed_files()["trust/delegations.yaml"],
                "tests/docs.yaml": suite,
            }
        )
        repo.commit("consent is implied for reads")
        result = runner.invoke(
            app, ["policy", "version", "bump", "auto", "--ledger", str(repo.root)]
        )
    finally:
        repo.close()
    assert result.exit_code == 0, result.stderr
    assert result.stdout == "v1.1.0\n"
    assert "minor (since v1.0.0):" in result.stderr
    assert "- deny -> allow: docs/assistant reads without consent" in result.stderr
    assert "- delegation/user-assistant-read: consent no longer required" in result.stderr


def test_requests_from_an_eval_audit_log(
    runner: CliRunner, repo: LedgerRepo, tmp_path: Path
) -> None:
    """What production decided (``ztauth eval --audit-log``) replayed against a change."""
    request = tmp_path / "bob.json"
    request.write_text(
        json.dumps(
            {
                "subject": {"type": "User", "id": "bob"},
                "action": {"name": "read"},
                "resource": {"type": "Document", "id": "roadmap"},
            }
        ),
        encoding="utf-8",
    )
    log = tmp_path / "audit.jsonl"
    evaluated = runner.invoke(
        app,
        [
            "eval",
            str(request),
            "--ledger",
            str(repo.root),
            "--rev",
            "v1.0.0",
            "--format",
            "json",
            *AT,
            "--audit-log",
            str(log),
        ],
    )
    assert evaluated.exit_code == 0, evaluated.stderr
    code, out, err = _diff(runner, repo, "v1.0.0", "HEAD", "--requests", str(log), "-f", "json")
    assert code == 0, err
    flips = [f for f in json.loads(out)["decision_flips"] if f["source"] == "request"]
    assert [(f["name"], f["base"]["code"], f["target"]["code"]) for f in flips] == [
        (f"{log.as_posix()}:1", "allowed", "policy_denied")
    ]


# ------------------------------------------------------------------ the documented example

DOC = Path(__file__).resolve().parents[2] / "docs" / "readme" / "60-diff.md"
_HASH = re.compile(r"\(([0-9a-f]{7})\)")


def _sed(expression: str, path: Path) -> None:
    """The three GNU sed forms the example uses: s|RE|TEXT|, Ns/RE/TEXT/ and N,Md."""
    lines = path.read_text(encoding="utf-8").splitlines(keepends=True)
    if deleted := re.fullmatch(r"(\d+),(\d+)d", expression):
        first, last = int(deleted.group(1)), int(deleted.group(2))
        del lines[first - 1 : last]
    else:
        match = re.fullmatch(r"(\d*)s(.)(.*?)\2(.*?)\2", expression)
        assert match, expression
        address, _, pattern, text = match.groups()
        for number, line in enumerate(lines, start=1):
            if not address or number == int(address):
                lines[number - 1] = re.sub(pattern, lambda _: text, line, count=1)
    path.write_text("".join(lines), encoding="utf-8")


def test_documented_sample_ledger_example_reproduces(
    runner: CliRunner, sample_repo: LedgerRepo
) -> None:
    """docs/readme/60-diff.md: its sed edits on the sample ledger print its text and Markdown."""
    doc = DOC.read_text(encoding="utf-8")
    block = doc[doc.index("$ cp -r sample-ledger ledger-demo") :]
    block = block[: block.index("```")]
    sample_repo.tag("v1.0.0")
    edits = [shlex.split(line[2:]) for line in block.splitlines() if line.startswith("$ sed -i")]
    assert len(edits) == 3
    for _, _, expression, name in edits:
        _sed(expression, sample_repo.root / name)
    root = str(sample_repo.root)
    text_shown = block[block.index("$ ztauth policy diff v1.0.0\n") :].split("\n", 1)[1]
    text = runner.invoke(app, ["policy", "diff", "v1.0.0", "--ledger", root])
    assert text.exit_code == 0, text.stderr
    assert _HASH.sub("(HASH)", text.stdout) == _HASH.sub("(HASH)", text_shown)
    shown = doc[
        doc.index("<!-- diff-example:markdown -->\n") + 31 : doc.index(
            "<!-- /diff-example:markdown -->"
        )
    ]
    markdown = runner.invoke(app, ["policy", "diff", "v1.0.0", "--ledger", root, "-f", "markdown"])
    assert markdown.exit_code == 0, markdown.stderr
    assert _HASH.sub("(HASH)", markdown.stdout) == _HASH.sub("(HASH)", shown)


def _json(runner: CliRunner, repo: LedgerRepo, *args: str) -> dict[str, object]:
    code, out, err = _diff(runner, repo, *args, "-f", "json")
    assert code == 0, err
    document: dict[str, object] = json.loads(out)
    return document


def test_a_range_is_the_same_diff_as_two_revisions(runner: CliRunner, repo: LedgerRepo) -> None:
    pair = _json(runner, repo, "v1.0.0", "HEAD")
    assert _json(runner, repo, "v1.0.0..HEAD") == pair
    # As in Git, an empty side of a range is HEAD.
    assert _json(runner, repo, "v1.0.0..") == pair


def test_a_three_dot_range_starts_where_the_branch_forked(
    runner: CliRunner, repo: LedgerRepo
) -> None:
    # v1.1.0 is an ancestor of HEAD: their merge base is v1.1.0 itself.
    forked = _json(runner, repo, "v1.1.0...HEAD")
    pair = _json(runner, repo, "v1.1.0", "HEAD")
    for key in ("summary", "decision_flips", "trust_changes", "policy_changes"):
        assert forked[key] == pair[key], key
    assert forked["base"] == {"revision": "v1.1.0...HEAD", "commit": pair["base"]["commit"]}  # type: ignore[index]


def test_a_range_and_a_second_revision_is_a_usage_error(
    runner: CliRunner, repo: LedgerRepo
) -> None:
    code, _, err = _diff(runner, repo, "v1.0.0..HEAD", "v1.1.0")
    assert code == 2
    assert "'v1.0.0..HEAD' is a range already; drop the second revision 'v1.1.0'" in err


@pytest.mark.parametrize("folder", ["", "ledger"], ids=["root", "subfolder"])
def test_the_commit_adding_a_ledger_diffs_from_empty(
    runner: CliRunner, tmp_path: Path, jwks: str, folder: str
) -> None:
    repo = LedgerRepo(tmp_path / "repo")
    repo.write({"README.md": "# an app\n"})
    repo.commit("before the ledger")
    prefix = f"{folder}/" if folder else ""
    repo.write({prefix + rel: text for rel, text in base_files(jwks).items()})
    repo.commit("add the ledger")
    ledger = repo.root / folder if folder else repo.root
    result = runner.invoke(
        app, ["policy", "diff", "HEAD~1..HEAD", "--ledger", str(ledger), "-f", "json", *AT]
    )
    repo.close()
    assert result.exit_code == 0, result.stderr
    assert "note: no ledger at HEAD~1: base is an empty ledger" in result.stderr
    document = json.loads(result.stdout)
    changes = document["trust_changes"] + document["policy_changes"]
    assert changes
    assert {change["kind"] for change in changes} == {"added"}
    assert document["summary"]["widening"] is True


def test_an_unknown_revision_is_still_exit_2(runner: CliRunner, repo: LedgerRepo) -> None:
    code, _, err = _diff(runner, repo, "nope..HEAD")
    assert code == 2
    assert "unknown revision 'nope'" in err
