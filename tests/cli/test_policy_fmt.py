"""`ztauth policy fmt`: Cedar's formatter, --check, comments kept, atomic rewrite."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from tests.support.repo import write_files
from ztauth_cli.cli.main import app

MANIFEST = (
    "apiVersion: ztauth/v1\nkind: Ledger\nmetadata: {name: demo}\n"
    "ledger: ztauth://example.internal/100000000000/ledgers/demo\n"
)
UGLY = '// ztauth: ignore ZT307 -- sandbox\n@id("all")   permit(principal,action,resource);\n'
PRETTY = '// ztauth: ignore ZT307 -- sandbox\n@id("all")\npermit (principal, action, resource);\n'


def test_check_lists_files_and_changes_nothing(runner: CliRunner, tmp_path: Path) -> None:
    write_files(
        tmp_path, {"ztauth.yaml": MANIFEST, "policies/a.cedar": UGLY, "policies/b.cedar": PRETTY}
    )
    result = runner.invoke(app, ["policy", "fmt", "--check", "--ledger", str(tmp_path)])
    assert result.exit_code == 1
    assert "policies/a.cedar" in result.stdout
    assert "policies/b.cedar" not in result.stdout
    assert (tmp_path / "policies/a.cedar").read_text() == UGLY


def test_fmt_rewrites_and_keeps_suppressions(runner: CliRunner, tmp_path: Path) -> None:
    write_files(tmp_path, {"ztauth.yaml": MANIFEST, "policies/a.cedar": UGLY})
    result = runner.invoke(app, ["policy", "fmt", "--ledger", str(tmp_path)])
    assert result.exit_code == 0
    assert (tmp_path / "policies/a.cedar").read_text() == PRETTY
    again = runner.invoke(app, ["policy", "fmt", "--check", "--ledger", str(tmp_path)])
    assert again.exit_code == 0
    assert list((tmp_path / "policies").iterdir()) == [tmp_path / "policies/a.cedar"]


def test_syntax_error_is_reported_and_file_untouched(runner: CliRunner, tmp_path: Path) -> None:
    bad = '@id("x")\npermit (principal, action, resource) when {\n'
    write_files(tmp_path, {"ztauth.yaml": MANIFEST, "policies/x.cedar": bad})
    result = runner.invoke(app, ["policy", "fmt", str(tmp_path / "policies/x.cedar")])
    assert result.exit_code == 1
    assert "x.cedar:2:43: Cedar syntax error: '{' is never closed" in result.stderr
    assert (tmp_path / "policies/x.cedar").read_text() == bad


def test_formatter_dropping_a_comment_refuses_to_rewrite() -> None:
    from ztauth_cli.lint.fmt import _lost_comments

    assert _lost_comments(["// a", "// b"], ["// a"]) == ["// b"]
    assert _lost_comments(["// a"], ["// a", "// c"]) == []


def test_headers_and_blank_lines_between_policies_are_kept(tmp_path: Path) -> None:
    from ztauth_cli.lint.fmt import format_policies

    text = (
        "// File header.\n\n"
        '@id("a")\npermit(principal,action,resource) when { true };\n\n\n'
        "// About b.\n"
        '@id("b") forbid (principal, action, resource) when { false }; // trailing\n'
    )
    assert format_policies(text, path="p.cedar") == (
        "// File header.\n\n"
        '@id("a")\npermit (principal, action, resource)\nwhen { true };\n\n\n'
        "// About b.\n"
        '@id("b")\nforbid (principal, action, resource)\nwhen { false }; // trailing\n'
    )


def test_syntax_error_position_is_the_statement_in_the_file() -> None:
    from ztauth_cli.errors import DocumentError
    from ztauth_cli.lint.fmt import format_policies

    text = '@id("a")\npermit (principal, action, resource);\n\n@id("b")\npermit (principal,;\n'
    with pytest.raises(DocumentError) as info:
        format_policies(text, path="p.cedar")
    # At the '(' the policy never closes, not at the start of the file or of the statement.
    assert str(info.value.span) == "p.cedar:5:8"


def test_diff_prints_the_change_and_changes_nothing(runner: CliRunner, tmp_path: Path) -> None:
    ugly = '@id("a")\npermit(principal,action,resource);\n'
    write_files(tmp_path, {"ztauth.yaml": MANIFEST, "policies/a.cedar": ugly})
    result = runner.invoke(app, ["policy", "fmt", "--diff", "--ledger", str(tmp_path)])
    assert result.exit_code == 1
    assert (tmp_path / "policies/a.cedar").read_text() == ugly
    prefix = _shown_prefix(tmp_path)
    assert result.stdout == (
        f"--- a/{prefix}policies/a.cedar\n"
        f"+++ b/{prefix}policies/a.cedar\n"
        "@@ -1,2 +1,2 @@\n"
        ' @id("a")\n'
        "-permit(principal,action,resource);\n"
        "+permit (principal, action, resource);\n"
    )
    assert "1 file would be reformatted" in result.stderr
    clean = runner.invoke(app, ["policy", "fmt", "--ledger", str(tmp_path)])
    assert clean.exit_code == 0
    again = runner.invoke(app, ["policy", "fmt", "--diff", "--ledger", str(tmp_path)])
    assert (again.exit_code, again.stdout) == (0, "")


def _shown_prefix(root: Path) -> str:
    """How fmt shows the ledger's paths from the current folder (relative when inside it)."""
    import os

    rel = os.path.relpath(root.resolve(), Path.cwd().resolve())
    return "" if rel.startswith("..") or rel == "." else Path(rel).as_posix() + "/"
