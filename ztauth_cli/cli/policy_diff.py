"""`ztauth policy diff` and `policy version bump auto`: what a ledger change means, by meaning
and by decision."""

from __future__ import annotations

import sys
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from ztauth_cli.cli._common import (
    AtOption,
    LedgerOption,
    OutputOption,
    RequireSignaturesOption,
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
from ztauth_cli.cli.policy import app
from ztauth_cli.cli.policy_lifecycle import bump_app
from ztauth_cli.report.formats import OutputFormat

if TYPE_CHECKING:
    from ztauth_cli.diff import DiffReport
    from ztauth_cli.ledger.signing import SignerPin
    from ztauth_cli.ledger.versions import SemVer
    from ztauth_cli.model import Ledger

__all__ = ["bump_auto_command", "diff_command", "run_bump_auto", "run_diff"]

_FORMATS = (OutputFormat.TEXT, OutputFormat.JSON, OutputFormat.MARKDOWN)
# Below this many replays a progress bar only flickers.
_PROGRESS_MIN_ITEMS = 200


@app.command("diff")
def diff_command(
    base: str = typer.Argument(
        "HEAD",
        help="Base revision or tag, or a range: A..B (A to B), A...B (from where B forked "
        "off A, as a pull request shows it).",
    ),
    target: str | None = typer.Argument(
        None, help="Target revision or tag (default: the working tree).", show_default=False
    ),
    ledger: LedgerOption = None,
    requests: Path | None = typer.Option(  # noqa: B008 - Typer's declaration style
        None,
        "--requests",
        help="A .jsonl of AuthZEN requests (or an 'eval --audit-log') to replay on both sides.",
    ),
    fmt: Annotated[OutputFormat, format_option(*_FORMATS)] = OutputFormat.TEXT,
    fail_on_widening: bool = typer.Option(
        False, "--fail-on-widening", help="Exit 1 when any decision, trust or policy change widens."
    ),
    at: AtOption = None,
    output: OutputOption = None,
    signers_jwks: SignersJwksOption = None,
    require_signatures: RequireSignaturesOption = None,
) -> None:
    """Compare two revisions of the ledger: policies, trust model and decisions.

    Every test case of both revisions, and every request of --requests, is evaluated against
    both; decisions that flip are listed (deny -> allow is WIDENING). --at is the clock of
    suites without 'at' and requests without a time. A revision from before the ledger
    existed (the pull request that adds it) is an empty ledger: everything is added.

    With the signature gate pinned (--signers-jwks, --require-signatures or their environment
    variables), both sides must verify against the pin first: a side that does not is named on
    stderr and nothing is compared (exit 1).

    Examples:

      $ ztauth policy diff v1.2.0                      # last release -> working tree
      $ ztauth policy diff HEAD~1..HEAD -f markdown -o diff.md --fail-on-widening
      $ ztauth policy diff origin/main...HEAD          # what this branch changes
      $ ztauth policy diff v1.2.0 --requests audit.jsonl

    Exit codes: 0 done, 1 widening under --fail-on-widening or a side that does not verify
    against the pin, 2 bad revision, ledger or requests file.
    """
    code = run_diff(
        base=base,
        target=target,
        ledger_path=ledger,
        requests_path=requests,
        fmt=fmt,
        fail_on_widening=fail_on_widening,
        at=at,
        output=output,
        signers_jwks=signers_jwks,
        require_signatures=require_signatures,
    )
    raise typer.Exit(code)


def run_diff(
    *,
    base: str,
    target: str | None,
    ledger_path: Path | None,
    requests_path: Path | None,
    fmt: OutputFormat,
    fail_on_widening: bool,
    at: str | None,
    output: Path | None,
    signers_jwks: Path | None = None,
    require_signatures: int | None = None,
) -> int:
    """Diff two revisions and write the report; returns the exit code (0, or 1 on widening
    or on a side that does not verify against a pinned signature gate).

    Raises:
        ZtauthError: a bad revision, ledger, requests file or option (exit 2).
    """
    from ztauth_cli.diff import WORKING_TREE, diff_ledgers, load_requests
    from ztauth_cli.ledger import load

    check_format(fmt, _FORMATS, command="ztauth policy diff")
    check_output(output)
    check_ledger_option(ledger_path)
    # One clock, read once: the engine itself never reads the clock.
    now = parse_at(at)
    pin = signer_pin(signers_jwks, require_signatures)
    items = load_requests(requests_path) if requests_path is not None else ()
    base, target, base_rev = _revisions(base, target, ledger_path=ledger_path)
    # A side from before the ledger existed is an empty ledger: the diff of the pull request
    # that adds a ledger is everything added, not "no ztauth.yaml" (exit 2).
    base_ledger = load(ledger_path, base_rev, absent_ok=True)
    target_ledger = load(ledger_path, target, absent_ok=True)
    for side, loaded in (("base", base_ledger), ("target", target_ledger)):
        if loaded.manifest is None and not loaded.files:
            label = base if side == "base" else target
            typer.echo(f"note: no ledger at {label}: {side} is an empty ledger", err=True)
    target_label = target if target is not None else WORKING_TREE
    if pin.pinned:
        from ztauth_cli.gates import unverified_reason

        check_pin_outside(pin, target_ledger.root)
        # A diff is read as "what this change does": on a side the pin does not vouch for,
        # its decisions would be the attacker's to choose. Signatures are checked today.
        refused = [
            f"{side} ({label}) does not verify against the pinned signers: {reason}"
            for side, label, ledger in (
                ("base", base, base_ledger),
                ("target", target_label, target_ledger),
            )
            # A side with no ledger yet decides nothing (every request is denied): no pin check.
            if not (ledger.manifest is None and not ledger.files)
            and (reason := unverified_reason(ledger, now=parse_at(None), pin=pin)) is not None
        ]
        if refused:
            for line in refused:
                typer.echo(f"error: {line}", err=True)
            return 1
    report = diff_ledgers(
        base_ledger,
        target_ledger,
        now=now,
        requests=items,
        base_label=base,
        target_label=target_label,
        progress=_progress,
    )
    _write(report, fmt, output=output, ledgers=(base_ledger, target_ledger))
    if fmt is not OutputFormat.TEXT or output is not None:
        typer.echo(_summary(report), err=True)
    return 1 if fail_on_widening and report.widening else 0


def _revisions(
    base: str, target: str | None, *, ledger_path: Path | None
) -> tuple[str, str | None, str]:
    """``(base label, target, base revision)`` from the arguments; ``A..B`` and ``A...B``
    ranges as Git reads them (an empty side is HEAD; ``A...B`` starts at their merge base).

    Raises:
        UsageError: a range together with a TARGET argument, or an empty range.
        GitError: no repository, or a side of ``A...B`` does not resolve.
    """
    from ztauth_cli.errors import UsageError

    symmetric = "..." in base
    if not symmetric and ".." not in base:
        return base, target, base
    if target is not None:
        raise UsageError(
            f"{base!r} is a range already; drop the second revision {target!r}",
            hint=f"ztauth policy diff {base}",
        )
    left, _, right = base.partition("..." if symmetric else "..")
    left, right = left or "HEAD", right or "HEAD"
    if not symmetric:
        return left, right, left
    return f"{left}...{right}", right, _merge_base(left, right, ledger_path=ledger_path)


def _merge_base(left: str, right: str, *, ledger_path: Path | None) -> str:
    from ztauth_cli.errors import GitError
    from ztauth_cli.ledger import git

    start = ledger_path if ledger_path is not None else Path.cwd()
    root = git.find_repo_root(start)
    if root is None:
        raise GitError(f"{start} is not inside a Git repository: no {left}...{right} to read")
    repo = git.open_repo(root)
    try:
        return git.merge_base(repo, left, right)
    finally:
        repo.close()


def _summary(report: DiffReport) -> str:
    from ztauth_cli.diff import Impact

    return (
        f"{'WIDENING' if report.widening else 'no widening'}: "
        f"{report.count(Impact.WIDENING)} widening, {report.count(Impact.NARROWING)} narrowing, "
        f"{len(report.flips)} of {report.evaluated} replayed decisions flip"
    )


_Tick = Callable[[], None]


def _progress(total: int) -> _Tick | None:
    """A progress bar on stderr for long replays on a terminal (DESIGN.md conventions)."""
    from ztauth_cli.report.console import make_console, plain_output

    if total < _PROGRESS_MIN_ITEMS or plain_output(sys.stderr):
        return None
    from rich.progress import Progress

    bar = Progress(console=make_console(sys.stderr), transient=True)
    task = bar.add_task("replaying", total=total)
    bar.start()
    done = 0

    def tick() -> None:
        nonlocal done
        done += 1
        bar.advance(task)
        if done >= total:
            bar.stop()

    return tick


def _write(
    report: DiffReport,
    fmt: OutputFormat,
    *,
    output: Path | None,
    ledgers: tuple[Ledger, Ledger] | None = None,
) -> None:
    from ztauth_cli.report import diff_json, diff_markdown, diff_text
    from ztauth_cli.report.output import render_to_text

    if fmt is OutputFormat.TEXT and output is None:
        # Straight to the terminal, so rich can colour it.
        diff_text.render(report, sys.stdout)
        sys.stdout.flush()
        return
    if fmt is OutputFormat.JSON:
        text = render_to_text(diff_json.render, report)
    elif fmt is OutputFormat.MARKDOWN:
        from ztauth_cli.graph import diff_graphs, trust_graph
        from ztauth_cli.graph.model import nodes_of

        graphs = (trust_graph(ledgers[0]), trust_graph(ledgers[1])) if ledgers else ()
        edges = diff_graphs(*graphs) if graphs else ()
        nodes = nodes_of(graphs)
        text = render_to_text(
            lambda r, out: diff_markdown.render(r, out, trust_edges=edges, trust_nodes=nodes),
            report,
        )
    else:
        text = render_to_text(diff_text.render, report)
    emit(text, output)


# ------------------------------------------------------------------------- version bump auto


@bump_app.command("auto")
def bump_auto_command(
    message: str | None = typer.Option(
        None, "--message", "-m", help="Tag message (default: 'ledger vX.Y.Z')."
    ),
    ledger: LedgerOption = None,
    fmt: Annotated[
        OutputFormat, format_option(OutputFormat.TEXT, OutputFormat.JSON)
    ] = OutputFormat.TEXT,
    signers_jwks: SignersJwksOption = None,
    require_signatures: RequireSignaturesOption = None,
) -> None:
    """Tag HEAD with the next version, the part derived from the decision diff.

    The test cases of the previous version tag and of HEAD are replayed against both: any
    allow -> deny flip is major (callers lose access); a deny -> allow flip or a new
    permission (added permit policy, elevation or delegation, widening trust change) is minor;
    otherwise patch. The flips and changes that decided it are printed.

    Same release gates as 'bump major|minor|patch'.

    Example:

      $ ztauth policy version bump auto -m "billing: refunds need an attested workload"

    Exit codes: 0 tagged, 1 refused, 2 usage or input error.
    """
    pin = signer_pin(signers_jwks, require_signatures)
    raise typer.Exit(run_bump_auto(message=message, ledger_path=ledger, fmt=fmt, pin=pin))


def run_bump_auto(
    *,
    message: str | None,
    ledger_path: Path | None,
    fmt: OutputFormat,
    pin: SignerPin | None = None,
) -> int:
    """Derive the bump from the previous version to HEAD, then tag through the release path.

    Raises:
        ZtauthError: no ledger, no repository, an unusable ledger at either revision (exit 2).
    """
    from ztauth_cli.cli.policy_lifecycle import run_version_bump

    # Filled by ``derive`` (called inside the bump, once the previous version is known) and
    # printed with the result.
    reasons: list[str] = []

    def derive(root: Path, base: SemVer | None, head: str) -> str:
        from ztauth_cli.diff import derive_bump
        from ztauth_cli.ledger import load

        if base is None:
            reasons.append("no previous version tag: first release, minor")
            return "minor"
        decision = derive_bump(load(root, rev=str(base)), load(root, rev=head), now=parse_at(None))
        reasons.append(f"{decision.part} (since {base}):")
        reasons.extend(f"- {reason}" for reason in decision.reasons)
        return decision.part

    return run_version_bump(
        part=None,
        message=message,
        ledger_path=ledger_path,
        fmt=fmt,
        derive=derive,
        explain=reasons,
        pin=pin,
    )
