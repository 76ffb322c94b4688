"""The ``run_<command>`` functions behind ``ztauth policy lint`` and ``ztauth policy fmt``.

Typed arguments in, exit code out (STYLE.md rule 20). The report goes to stdout or
``--output``; the one-line summary goes to stderr.
"""

from __future__ import annotations

import os
import sys
from dataclasses import replace
from datetime import datetime, timezone
from pathlib import Path
from typing import TextIO

from ztauth_cli.errors import UsageError
from ztauth_cli.model.findings import CheckReport, Finding, Severity
from ztauth_cli.model.span import Span
from ztauth_cli.report.formats import CHECK_REPORT_FORMATS, OutputFormat

__all__ = ["run_explain", "run_fmt", "run_lint", "run_list_rules"]


def _display_prefix(root: Path) -> str:
    """How to show ledger-relative paths: relative to the current folder when inside it."""
    try:
        rel = Path(os.path.relpath(root.resolve(), Path.cwd().resolve()))
    except ValueError:  # another drive (Windows)
        return ""
    if rel == Path(".") or rel.parts[:1] == ("..",):
        return ""
    return rel.as_posix() + "/"


def _rebase(finding: Finding, prefix: str) -> Finding:
    if not prefix or finding.span is None:
        return finding
    span = finding.span
    return replace(finding, span=Span(path=prefix + span.path, line=span.line, column=span.column))


def _group_paths(paths: list[Path], ledger: Path | None) -> dict[Path, set[str] | None]:
    """Ledger root -> ledger-relative files to report on (``None`` = the whole ledger)."""
    from ztauth_cli.errors import LedgerNotFound
    from ztauth_cli.ledger.load import find_ledger_root, is_ledger_file

    if not paths:
        root = find_ledger_root(ledger) if ledger is not None else find_ledger_root(Path.cwd())
        return {root: None}
    groups: dict[Path, set[str] | None] = {}
    fixed = find_ledger_root(ledger) if ledger is not None else None
    for path in paths:
        absolute = path if path.is_absolute() else Path.cwd() / path
        try:
            root = fixed if fixed is not None else find_ledger_root(absolute.parent)
        except LedgerNotFound:
            continue  # pre-commit may pass files of no ledger: nothing to say about them
        try:
            rel = absolute.resolve().relative_to(root.resolve()).as_posix()
        except ValueError:
            continue
        if not is_ledger_file(rel):
            continue
        wanted = groups.setdefault(root, set())
        if wanted is not None:
            wanted.add(rel)
    return groups


def run_lint(
    paths: list[Path],
    *,
    ledger: Path | None,
    rev: str | None,
    fmt: OutputFormat,
    strict: bool,
    output: Path | None,
    now: datetime | None = None,
    disable: tuple[str, ...] = (),
    enable: tuple[str, ...] = (),
) -> int:
    """Lint one ledger (or the ledgers holding ``paths``); render; return the exit code.

    ``disable`` / ``enable`` (``--disable`` / ``--enable``) apply after the manifest's ``lint:``.

    ``now`` is the clock of the time-based rules, parsed by the CLI from ``--at`` (default:
    the wall clock, read once here).

    Raises:
        UsageError, LedgerNotFound, GitError: exit 2 (bad options, no ledger, bad revision).
    """
    from ztauth_cli.ledger import load
    from ztauth_cli.lint.run import lint_ledger, rule_docs, select_rules, with_checks
    from ztauth_cli.report import render, require_format
    from ztauth_cli.report.output import render_to_text, write_result
    from ztauth_cli.report.text import summary

    require_format(fmt, CHECK_REPORT_FORMATS, command="policy lint")
    if now is None:
        now = datetime.now(timezone.utc)
    if ledger is not None and not ledger.exists() and rev is None:
        raise UsageError(f"--ledger {ledger}: no such folder")
    groups = _group_paths(paths, ledger)
    if not groups:
        # "0 errors" here would read as a clean ledger; say that nothing was read instead.
        count = f"{len(paths)} path{'s' if len(paths) != 1 else ''}"
        sys.stderr.write(
            f"ztauth policy lint: nothing linted: none of the {count} given is a ledger file "
            "(ztauth.yaml, schema, policies/, entities/, trust/, tests/, keys/ of a ledger)\n"
        )
        return 0
    findings: list[Finding] = []
    files: list[str] = []
    for root, only in sorted(groups.items()):
        loaded = load(root, rev, tolerant=True)
        selection = select_rules(loaded, disable=disable, enable=enable)
        result = lint_ledger(loaded, now=now, strict=strict, only_paths=only, selection=selection)
        prefix = _display_prefix(root)
        findings.extend(_rebase(f, prefix) for f in result.report.findings)
        files.extend(prefix + f for f in result.files)
    report = CheckReport(
        tool="ztauth policy lint",
        findings=tuple(findings),
        rules=tuple(r.doc for r in rule_docs()),
    )
    if fmt in (OutputFormat.JUNIT, OutputFormat.JSON):
        # JSON and JUnit tell the same story: one check per linted file and per active finding.
        from ztauth_cli.lint.run import LintResult

        report = with_checks(LintResult(report=report, strict=strict, files=tuple(files)))

    def _render(value: CheckReport, out: TextIO) -> None:
        render(value, fmt, out)

    if output is not None:
        write_result(render_to_text(_render, report), output)
    else:
        render(report, fmt, sys.stdout)
        sys.stdout.flush()
    sys.stderr.write(summary(report) + "\n")
    return 1 if report.count(Severity.ERROR) else 0


def run_explain(rule_id: str, *, fmt: OutputFormat) -> int:
    """Print one rule's documentation.

    Raises:
        UsageError: unknown rule id (exit 2).
    """
    from ztauth_cli.lint import get_rule
    from ztauth_cli.lint.run import rule_docs

    entry = get_rule(rule_id)
    if entry is None:
        known = ", ".join(r.id for r in rule_docs())
        raise UsageError(f"unknown rule {rule_id!r}", hint=f"known rules: {known}")
    if fmt is OutputFormat.JSON:
        from ztauth_cli.report.envelope import report_text

        rule = {
            "id": entry.id,
            "name": entry.name,
            "severity": entry.severity.value,
            "summary": entry.summary,
            "help": entry.help,
        }
        sys.stdout.write(report_text("ztauth policy lint --explain", {"rule": rule}))
    else:
        sys.stdout.write(
            f"{entry.id} {entry.name} ({entry.severity.value})\n\n{entry.summary}\n\n{entry.help}\n"
        )
    return 0


def run_list_rules(*, fmt: OutputFormat) -> int:
    """Print every rule: id, severity, name and one-line summary."""
    from ztauth_cli.lint.run import rule_docs

    entries = rule_docs()
    if fmt is OutputFormat.JSON:
        from ztauth_cli.report.envelope import report_text

        rules = [
            {"id": r.id, "name": r.name, "severity": r.severity.value, "summary": r.summary}
            for r in entries
        ]
        sys.stdout.write(report_text("ztauth policy lint --list-rules", {"rules": rules}))
    elif fmt is OutputFormat.MARKDOWN:
        sys.stdout.write("| id | name | severity | what it checks |\n|---|---|---|---|\n")
        for r in entries:
            sys.stdout.write(f"| {r.id} | {r.name} | {r.severity.value} | {r.summary} |\n")
    else:
        width = max(len(r.name) for r in entries)
        for r in entries:
            sys.stdout.write(f"{r.id}  {r.severity.value:<7}  {r.name:<{width}}  {r.summary}\n")
    return 0


def run_fmt(paths: list[Path], *, ledger: Path | None, check: bool, diff: bool = False) -> int:
    """Format ``.cedar`` files (all of the ledger's, or ``paths``); ``check`` changes nothing;
    ``diff`` (with ``check``) prints a unified diff of each change instead of its name.

    Returns 1 when ``check`` finds files that would change or when a file cannot be formatted
    (syntax error, or comments Cedar's formatter would drop), else 0.

    Raises:
        LedgerNotFound, UsageError: exit 2.
    """
    from ztauth_cli.fileio import read_limited
    from ztauth_cli.ledger.load import MAX_FILE_BYTES, find_ledger_root
    from ztauth_cli.lint.fmt import format_file_text
    from ztauth_cli.report.output import atomic_write

    targets: list[tuple[Path, str]] = []
    if paths:
        for path in paths:
            if path.suffix != ".cedar":
                continue
            if path.exists() and not path.is_file():
                raise UsageError(f"{path}: not a regular file; refusing to read it")
            if not path.is_file():
                raise UsageError(f"{path}: no such file")
            targets.append((path, path.as_posix()))
    else:
        root = find_ledger_root(ledger if ledger is not None else Path.cwd())
        prefix = _display_prefix(root)
        policies = root / "policies"
        if policies.is_dir():
            targets = [
                (file, prefix + file.relative_to(root).as_posix())
                for file in sorted(policies.rglob("*.cedar"))
                if not file.is_dir()  # a FIFO or socket is reported below, never skipped
            ]
    status = 0
    changed: list[str] = []
    for file, shown in targets:
        try:
            data = read_limited(file, limit=MAX_FILE_BYTES, regular_only=True)
            if len(data) > MAX_FILE_BYTES:
                raise ValueError(f"larger than {MAX_FILE_BYTES} bytes")
            text = data.decode("utf-8")
        except (OSError, ValueError) as exc:
            reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else exc
            sys.stderr.write(f"error: {shown}: cannot read ({reason})\n")
            status = 1
            continue
        outcome = format_file_text(shown, text)
        if outcome.problem is not None:
            sys.stderr.write(f"error: {outcome.problem.diagnostics()}\n")
            status = 1
            continue
        if not outcome.changed or outcome.text is None:
            continue
        changed.append(shown)
        if diff:
            import difflib

            sys.stdout.writelines(
                difflib.unified_diff(
                    text.splitlines(keepends=True),
                    outcome.text.splitlines(keepends=True),
                    fromfile=f"a/{shown}",
                    tofile=f"b/{shown}",
                )
            )
        if not check:
            atomic_write(file, outcome.text)
    verb = "would be reformatted" if check else "reformatted"
    for shown in changed if not diff else ():
        sys.stdout.write(f"{verb}: {shown}\n")
    unchanged = len(targets) - len(changed)
    sys.stderr.write(
        f"{len(changed)} file{'s' if len(changed) != 1 else ''} {verb}, "
        f"{unchanged} file{'s' if unchanged != 1 else ''} left unchanged\n"
    )
    if check and changed:
        status = 1
    return status
