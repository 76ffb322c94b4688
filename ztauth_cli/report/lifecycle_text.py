"""Text renderers of the ledger's lifecycle: ``policy verify``, ``policy log`` and
``policy version list``. They only draw the results the core computed (the CLI parses options,
asks ``ledger/signing``, ``ledger/history`` and ``ledger/versions``, and hands the results here).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from rich.console import Console

    from ztauth_cli.ledger.history import LogEntry, VersionRow
    from ztauth_cli.ledger.signing import VerificationResult
    from ztauth_cli.model import Ledger

__all__ = ["aligned_table", "render_log", "render_verify", "version_table"]


def render_verify(
    console: Console,
    loaded: Ledger,
    result: VerificationResult,
    *,
    rev: str | None,
    base: str | None = None,
) -> None:
    """The signature verdict: ledger and revision, keys, the base revision the gate was
    compared with, one line per signature, problems not tied to one signature (gate findings
    included), the summary, and how to sign an unsigned ledger."""
    where = f"revision {rev} ({(loaded.revision or '')[:12]})" if rev else "working tree"
    console.print(f"ledger {loaded.ztid} ({where})", markup=False)
    if base is not None:
        console.print(f"gate compared with: {base}", markup=False)
    console.print(
        f"signer keys: {result.keys_source or '(none)'}; {len(result.files)} signed files",
        markup=False,
    )
    for check in result.signatures:
        head = (
            f"signature {check.index}: kid {check.kid or '-'}, alg {check.alg or '-'}, "
            f"iss {check.issuer or '-'}"
        )
        if check.issued_at_text is not None:
            head += f", signed {check.issued_at_text}"
        verdict = "valid" if check.valid else "INVALID"
        console.print(f"{head}: ", end="", markup=False)
        console.print(verdict, style="green" if check.valid else "bold red", markup=False)
        for problem in check.problems:
            console.print(f"  - {problem}", markup=False)
    # Problems not tied to one signature (keys, quorum, the file itself); the others are
    # printed under their signature above.
    general = [p for p in result.problems if not p.startswith("signature ")]
    for problem in general:
        console.print(f"- {problem}", markup=False)
    console.print(result.summary, style="green" if result.ok else "bold red", markup=False)
    if result.state == "unsigned":
        jwks = result.keys_source or "SIGNERS_JWKS"
        console.print(
            "hint: sign it with 'ztauth policy sign --key PEM' (make a key outside the ledger "
            f"with 'ztauth keys generate --out PEM --jwks {jwks}')",
            markup=False,
        )


def render_log(console: Console, entries: Sequence[LogEntry]) -> None:
    """Two lines per commit: short sha, tags and subject; date, author and signature state."""
    for entry in entries:
        tags = f" ({', '.join(entry.tags)})" if entry.tags else ""
        console.print(entry.sha[:7], style="yellow", end="", markup=False)
        console.print(f"{tags} {entry.subject}", style=None, markup=False)
        state = entry.signature + (f": {entry.signature_reason}" if entry.signature_reason else "")
        console.print(f"    {entry.date}  {entry.author}  signatures {state}", markup=False)


def version_table(rows: Sequence[VersionRow]) -> str:
    """``policy version list``: TAG, DATE, COMMIT, SIGNATURES (or how to make the first tag)."""
    if not rows:
        return "no version tags yet; create one with 'ztauth policy version bump minor'\n"
    return aligned_table(
        ("TAG", "DATE", "COMMIT", "SIGNATURES"),
        [
            (
                r.tag.name,
                r.tag.date,
                r.tag.commit[:7],
                r.signature + (f": {r.signature_reason}" if r.signature_reason else ""),
            )
            for r in rows
        ],
    )


def aligned_table(header: tuple[str, ...], rows: Sequence[tuple[str, ...]]) -> str:
    """Plain aligned columns: stable, greppable, and identical on and off a terminal."""
    widths = [max(len(r[i]) for r in (header, *rows)) for i in range(len(header) - 1)]
    lines = []
    for row in (header, *rows):
        cells = [cell.ljust(widths[i]) for i, cell in enumerate(row[:-1])]
        lines.append("  ".join([*cells, row[-1]]).rstrip() + "\n")
    return "".join(lines)
