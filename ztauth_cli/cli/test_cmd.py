"""`ztauth test`: run the ledger's scenario suites with minted tokens, report, measure coverage."""

# PT028: ``test_command`` is the ``ztauth test`` command, not a pytest test function.
# ruff: noqa: PT028

from __future__ import annotations

import dataclasses
import sys
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from ztauth_cli.cli._common import (
    AtOption,
    LedgerOption,
    OutputOption,
    RequireSignaturesOption,
    RevOption,
    SignersJwksOption,
    check_format,
    check_ledger_option,
    check_output,
    check_pin_outside,
    emit,
    format_option,
    parse_at,
    signer_pin,
)
from ztauth_cli.report.formats import OutputFormat

if TYPE_CHECKING:
    from contextlib import AbstractContextManager

    from ztauth_cli.engine import Evaluator
    from ztauth_cli.ledger.signing.keys import SignerPin
    from ztauth_cli.model import AccessSnapshot, Ledger, TestSuite
    from ztauth_cli.testing import CaseResult, Coverage, MintedTokens, TestRun

__all__ = ["run_test", "test_command"]

_FORMATS = (
    OutputFormat.TEXT,
    OutputFormat.JSON,
    OutputFormat.JUNIT,
    OutputFormat.SARIF,
    OutputFormat.GITHUB,
)
# Below this many cases a progress bar only flickers.
_PROGRESS_MIN_CASES = 200


def test_command(
    suites: list[Path] | None = typer.Argument(  # noqa: B008 - Typer's declaration style
        None,
        help="Suite files or folders, or a ledger folder (default: every TestSuite under the "
        "ledger's tests/).",
        show_default=False,
    ),
    ledger: LedgerOption = None,
    rev: RevOption = None,
    select: str | None = typer.Option(
        None,
        "-k",
        help="Run only cases whose 'suite/case' name contains this text (case-insensitive).",
    ),
    fmt: Annotated[OutputFormat, format_option(*_FORMATS)] = OutputFormat.TEXT,
    coverage: bool = typer.Option(
        False, "--coverage", help="Report which policies and trust documents were exercised."
    ),
    threshold: float | None = typer.Option(
        None,
        "--threshold",
        min=0,
        max=100,
        help="Exit 1 when overall coverage is below this percentage (implies --coverage).",
    ),
    output: OutputOption = None,
    at: AtOption = None,
    signers_jwks: SignersJwksOption = None,
    require_signatures: RequireSignaturesOption = None,
    update_snapshots: bool = typer.Option(
        False,
        "--update-snapshots",
        help="Rewrite every access snapshot under tests/ with the access the ledger grants now.",
    ),
    verbose: bool = typer.Option(
        False,
        "--verbose",
        "-v",
        help="Text format: show every passing case too, with its decision and trace.",
    ),
) -> None:
    """Run test suites: every case's decision must match its expectation.

    Tokens declared by a suite are minted for this run with fresh keys (never committed).
    --at is the clock of cases without their own 'at' (default: now).

    Access snapshots (kind: AccessSnapshot under tests/) are checked too, when the ledger's own
    suites run without -k: any access granted that a snapshot does not list, or listed and no
    longer granted, fails the run with a +/- diff on stderr.

    Examples:

      $ ztauth test sample-ledger --coverage
      $ ztauth test -k billing --rev v1.2.0
      $ ztauth test -v -k "alice reads"              # the trace of passing cases too
      $ ztauth test --threshold 90 -f junit -o junit.xml       # CI

    When the manifest requires signatures and they do not verify, no case runs: the cause is
    said once on stderr and the exit code is 1.

    Exit codes: 0 all cases pass, 1 a case fails, coverage is below --threshold or the ledger's
    required signatures do not verify, 2 malformed suite or usage error.
    """
    from ztauth_cli.collector import collector_paused

    # A run is bounded by its suites: no cyclic collection while they load and run (see
    # ztauth_cli/collector.py).
    with collector_paused():
        code = run_test(
            suites=tuple(suites or ()),
            ledger_path=ledger,
            rev=rev,
            select=select,
            fmt=fmt,
            coverage=coverage or threshold is not None,
            threshold=threshold,
            output=output,
            at=at,
            signers_jwks=signers_jwks,
            require_signatures=require_signatures,
            update_snapshots=update_snapshots,
            verbose=verbose,
        )
    raise typer.Exit(code)


def run_test(
    *,
    suites: tuple[Path, ...],
    ledger_path: Path | None,
    rev: str | None,
    select: str | None,
    fmt: OutputFormat,
    coverage: bool,
    threshold: float | None,
    output: Path | None,
    at: str | None = None,
    signers_jwks: Path | None = None,
    require_signatures: int | None = None,
    update_snapshots: bool = False,
    verbose: bool = False,
) -> int:
    """Run the suites and write the report; returns the exit code (0, 1). ``verbose``: the
    text report shows passing cases in full too.

    Raises:
        ZtauthError: usage errors, an unusable ledger, malformed suites (exit 2).
    """
    from ztauth_cli.errors import UsageError
    from ztauth_cli.gates import suite_evaluator, unverified_reason
    from ztauth_cli.ledger import load
    from ztauth_cli.testing import IssuerKeys, discover_suites, mint_suite_tokens, select_cases

    check_format(fmt, _FORMATS, command="ztauth test")
    if update_snapshots and rev is not None:
        raise UsageError(
            "--update-snapshots writes the working tree; it cannot be combined with --rev"
        )
    check_output(output)
    check_ledger_option(ledger_path)
    # One clock for suites without 'at', read once: the engine itself never reads the clock.
    now = parse_at(at)
    pin = signer_pin(signers_jwks, require_signatures)
    with _loading("loading the ledger and its test suites"):
        ledger = load(ledger_path or _ledger_near(suites), rev)
        check_pin_outside(pin, ledger.root)
        found = discover_suites(ledger, suites)
    where = ", ".join(str(s) for s in suites) if suites else f"{ledger.root}/tests"
    own = not suites or any(p.resolve() == Path(ledger.root).resolve() for p in suites)
    snapshots = ledger.snapshots if own and select is None else ()
    if update_snapshots:
        return _update_snapshots(ledger, pin=pin)
    if not found and not snapshots:
        raise UsageError(
            f"no test suites (kind: TestSuite) found in {where}",
            hint="write scenario suites under tests/ (see 'ztauth test --help')",
        )
    chosen, deselected = select_cases(found, select)
    if not chosen and found:
        raise UsageError(f"-k {select!r} selects none of the {deselected} test cases")

    # The signature gate once, before any case: a stale signature is one cause, said once,
    # not one ledger_unverified failure per case.
    reason = unverified_reason(ledger, now=now, pin=pin)
    if reason is not None:
        total = sum(len(s.cases) for s in chosen)
        typer.echo(
            "error: the ledger is unverified, so every case would be denied "
            f"ledger_unverified: {reason}",
            err=True,
        )
        typer.echo(
            f"hint: none of the {total} cases ran; re-sign the reviewed content "
            "(ztauth policy sign --key ...), then check it with ztauth policy verify",
            err=True,
        )
        return 1
    keys = IssuerKeys.for_suites(chosen, ledger=ledger)
    tokens = mint_suite_tokens(chosen, ledger, keys=keys, now=now)
    evaluator = suite_evaluator(ledger, keys, now=now, revision=ledger.revision, pin=pin)
    total = sum(len(s.cases) for s in chosen)
    run = _run(evaluator, chosen, tokens=tokens, now=now, total=total)
    run = dataclasses.replace(run, deselected=deselected)

    measured = _coverage(ledger, run, threshold=threshold) if coverage else None
    _write(run, fmt, output=output, ledger=ledger, coverage=measured, verbose=verbose)
    if fmt is not OutputFormat.TEXT or output is not None:
        # The text report on stdout already ends with these lines; elsewhere they go to stderr.
        if measured is not None and measured.below_threshold:
            typer.echo(
                f"coverage {measured.percent:g}% is below the threshold {measured.threshold:g}%",
                err=True,
            )
        typer.echo(run.summary(), err=True)
    drifted = _check_snapshots(
        ledger, snapshots, pin=pin, to_stdout=fmt is OutputFormat.TEXT and output is None
    )
    failed = run.failed > 0 or (measured is not None and measured.below_threshold) or drifted
    return 1 if failed else 0


def _check_snapshots(
    ledger: Ledger, snapshots: tuple[AccessSnapshot, ...], *, pin: SignerPin, to_stdout: bool
) -> bool:
    """Recompute each access snapshot; print the differences; True when one differs."""
    if not snapshots:
        return False
    from ztauth_cli.cli.search import principal_prober
    from ztauth_cli.search import Candidates
    from ztauth_cli.search.snapshot import diff_snapshot, format_diff

    prober = principal_prober(ledger, pin=pin)
    candidates = Candidates.from_ledger(ledger)
    drifted = False
    for snapshot in snapshots:
        diff = diff_snapshot(prober, snapshot, candidates=candidates)
        if diff.ok:
            line = (
                f"access snapshot {diff.name} ({diff.path}): unchanged "
                f"({len(diff.answer.access)} access, {len(diff.answer.acting)} acting)"
            )
            typer.echo(line, err=True)
            continue
        drifted = True
        for line in format_diff(diff):
            typer.echo(line, err=True)
        typer.echo(
            "hint: review the change; if intended, run 'ztauth test --update-snapshots' and "
            "commit the snapshot",
            err=True,
        )
    return drifted


def _update_snapshots(ledger: Ledger, *, pin: SignerPin) -> int:
    """Rewrite every snapshot file of the working tree with the access granted now."""
    from ztauth_cli.cli.search import principal_prober
    from ztauth_cli.errors import UsageError
    from ztauth_cli.fileio import atomic_write_text
    from ztauth_cli.search import Candidates
    from ztauth_cli.search.snapshot import SnapshotScope, compute_access, snapshot_yaml

    if not ledger.snapshots:
        raise UsageError(
            f"no access snapshot (kind: AccessSnapshot) under {ledger.root}/tests",
            hint="create one with 'ztauth search snapshot tests/access.snapshot.yaml ...'",
        )
    paths = [s.span.path for s in ledger.snapshots]
    shared = sorted(
        {p for p in paths if paths.count(p) > 1}
        | {
            s.span.path
            for s in ledger.snapshots
            for t in ledger.suites
            if t.span.path == s.span.path
        }
    )
    if shared:
        raise UsageError(
            f"{shared[0]}: an access snapshot must be alone in its file to be rewritten"
        )
    prober = principal_prober(ledger, pin=pin)
    candidates = Candidates.from_ledger(ledger)
    for snapshot in ledger.snapshots:
        scope = SnapshotScope.of(snapshot)
        answer = compute_access(prober, scope, candidates=candidates)
        atomic_write_text(Path(ledger.root) / snapshot.span.path, snapshot_yaml(scope, answer))
        typer.echo(
            f"wrote {snapshot.span.path}: {len(answer.access)} access, "
            f"{len(answer.acting)} acting ({answer.evaluations} evaluations)",
            err=True,
        )
    return 0


def _ledger_near(suites: tuple[Path, ...]) -> Path | None:
    """Without --ledger, the ledger holding the first suite path (``ztauth test sample-ledger``
    names the ledger itself); None (the current folder) when there is none."""
    from ztauth_cli.errors import LedgerNotFound
    from ztauth_cli.ledger import find_ledger_root

    if not suites or not suites[0].exists():
        return None
    try:
        return find_ledger_root(suites[0])
    except LedgerNotFound:
        return None


def _run(
    engine: Evaluator,
    suites: tuple[TestSuite, ...],
    *,
    tokens: MintedTokens,
    now: datetime,
    total: int,
) -> TestRun:
    from ztauth_cli.report.console import plain_output
    from ztauth_cli.testing import run_suites

    if total < _PROGRESS_MIN_CASES or plain_output(sys.stderr):
        return run_suites(engine, suites, tokens=tokens, now=now)
    from rich.progress import Progress

    from ztauth_cli.report.console import make_console

    with Progress(console=make_console(sys.stderr), transient=True) as progress:
        task = progress.add_task("testing", total=total)

        def advance(_: CaseResult) -> None:
            progress.advance(task)

        return run_suites(engine, suites, tokens=tokens, now=now, progress=advance)


def _loading(message: str) -> AbstractContextManager[object]:
    """A spinner with ``message`` on stderr while suites load, when stderr is a terminal (a
    large suite set takes seconds to parse before the first case runs)."""
    from contextlib import nullcontext

    from ztauth_cli.report.console import make_console, plain_output

    if plain_output(sys.stderr):
        return nullcontext()
    return make_console(sys.stderr).status(message)


def _coverage(ledger: Ledger, run: TestRun, *, threshold: float | None) -> Coverage:
    from ztauth_cli.engine.cedar import parse_policy_files
    from ztauth_cli.testing import compute_coverage, coverage_universe

    policies, _ = parse_policy_files(ledger.policy_files)
    universe = coverage_universe(ledger, policy_ids=(p.id for p in policies if p.id is not None))
    return compute_coverage(universe, (r.decision for r in run.results), threshold=threshold)


def _repo_path(ledger: Ledger) -> Callable[[str], str]:
    """Ledger-relative suite paths made relative to the current folder, for CI reports.

    SARIF, GitHub annotations and JUnit are read against the checked-out repository: a ledger
    in a subfolder (``sample-ledger/``) must show ``sample-ledger/tests/x.yaml``. Suites given
    by a path outside the ledger keep that path.
    """
    root = Path(ledger.root).resolve()
    cwd = Path.cwd().resolve()
    prefix = root.relative_to(cwd).as_posix() if root.is_relative_to(cwd) else None
    own = {s.span.path for s in ledger.suites}

    def display(path: str) -> str:
        inside = not Path(path).is_absolute() and (path in own or (root / path).is_file())
        if prefix is None or prefix == "." or not inside:
            return path
        return f"{prefix}/{path}"

    return display


def _write(
    run: TestRun,
    fmt: OutputFormat,
    *,
    output: Path | None,
    ledger: Ledger,
    coverage: Coverage | None,
    verbose: bool = False,
) -> None:
    from ztauth_cli.report import render
    from ztauth_cli.report.output import render_to_text
    from ztauth_cli.report.test_run import render_json, render_text, to_check_report, to_json

    if fmt is OutputFormat.TEXT:
        if output is None:
            render_text(run, sys.stdout, coverage=coverage, verbose=verbose)
            sys.stdout.flush()
            return
        text = render_to_text(
            lambda r, out: render_text(r, out, coverage=coverage, verbose=verbose), run
        )
    elif fmt is OutputFormat.JSON:
        document = to_json(run, ledger=ledger.ztid, revision=ledger.revision, coverage=coverage)
        text = render_to_text(render_json, document)
    else:
        report = to_check_report(run, coverage=coverage, display_path=_repo_path(ledger))
        text = render_to_text(lambda r, out: render(r, fmt, out), report)
    emit(text, output)
