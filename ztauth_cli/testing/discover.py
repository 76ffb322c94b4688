"""Find, check and select the test suites of a run.

Suites come from the ledger's ``tests/`` folder (already parsed by the one loader) or from the
files and folders named on the command line, parsed with the loader's own functions.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from ztauth_cli.errors import DocumentError, SuiteError, UsageError
from ztauth_cli.testing.tokens import check_token_reference, token_references

if TYPE_CHECKING:
    from ztauth_cli.model import Ledger, Span, TestSuite

__all__ = [
    "case_id",
    "check_suites",
    "discover_suites",
    "ledger_suites",
    "load_suite_paths",
    "select_cases",
]

_SUFFIXES = (".yaml", ".yml")


def case_id(suite: str, case: str) -> str:
    """The unique name of a case in reports: ``suite/case``."""
    return f"{suite}/{case}"


def ledger_suites(ledger: Ledger) -> tuple[TestSuite, ...]:
    """The suites under the ledger's ``tests/``, checked.

    Raises:
        DocumentError: the first problem of a suite file (a malformed suite, with file:line).
        SuiteError: see :func:`check_suites`.
    """
    for problem in ledger.problems:
        if problem.span is not None and problem.span.path.startswith("tests/"):
            raise problem
    check_suites(ledger.suites)
    return ledger.suites


def discover_suites(ledger: Ledger, paths: Sequence[Path] = ()) -> tuple[TestSuite, ...]:
    """The suites of a run: the ledger's own (no ``paths``, or a path that is the ledger's root
    folder, as in ``ztauth test sample-ledger``) plus those in the other ``paths``.

    Raises:
        UsageError, DocumentError, SuiteError: see :func:`ledger_suites`, :func:`load_suite_paths`.
    """
    root = Path(ledger.root).resolve()
    own = not paths or any(p.resolve() == root for p in paths)
    others = [p for p in paths if p.resolve() != root]
    suites = ledger_suites(ledger) if own else ()
    if others:
        suites = (*suites, *load_suite_paths(others, ledger_root=root))
        check_suites(suites)
    return tuple(suites)


def load_suite_paths(paths: Sequence[Path], *, ledger_root: Path) -> tuple[TestSuite, ...]:
    """Parse the suites in ``paths`` (files, or folders searched for ``*.yaml``/``*.yml``).

    Files inside the ledger are named by their ledger-relative path (as the loader names them);
    others by the path given. Each file is parsed and validated exactly as the loader does.

    Raises:
        UsageError: a path that does not exist.
        DocumentError: a malformed suite file (with file:line).
        SuiteError: see :func:`check_suites`.
    """
    files: list[tuple[Path, str]] = []
    for given in paths:
        if given.is_dir():
            found = sorted(p for p in given.rglob("*") if p.is_file() and p.suffix in _SUFFIXES)
            files.extend((p, _display(p, ledger_root)) for p in found)
        elif given.is_file():
            files.append((given, _display(given, ledger_root)))
        elif given.exists():
            raise UsageError(f"test suite path {given}: not a regular file; refusing to read it")
        else:
            raise UsageError(f"test suite path {given} does not exist")
    seen: set[Path] = set()
    suites: list[TestSuite] = []
    for path, name in files:
        if path.resolve() in seen:
            continue
        seen.add(path.resolve())
        suites.extend(_parse_file(path, name))
    check_suites(suites)
    return tuple(suites)


def _display(path: Path, ledger_root: Path) -> str:
    resolved = path.resolve()
    root = ledger_root.resolve()
    if resolved.is_relative_to(root):
        return resolved.relative_to(root).as_posix()
    return path.as_posix()


def _parse_file(path: Path, name: str) -> list[TestSuite]:
    from ztauth_cli.fileio import read_limited
    from ztauth_cli.ledger.load import MAX_FILE_BYTES, build_suite
    from ztauth_cli.ledger.schemas import KIND_SCHEMAS, schema_errors
    from ztauth_cli.ledger.yaml import parse_documents
    from ztauth_cli.model import Span

    try:
        # Bounded, and never a blocking open: the path was a regular file a moment ago.
        data = read_limited(path, limit=MAX_FILE_BYTES, regular_only=True)
    except OSError as exc:
        raise DocumentError(
            f"cannot read the suite: {exc.strerror or exc}", span=Span(path=name)
        ) from None
    if len(data) > MAX_FILE_BYTES:
        raise DocumentError(
            f"file is {path.stat().st_size} bytes; the limit for a suite file is "
            f"{MAX_FILE_BYTES} bytes",
            span=Span(path=name),
        )
    try:
        text = data.decode("utf-8").removeprefix("\ufeff")
    except UnicodeDecodeError as exc:
        raise DocumentError("invalid UTF-8", span=Span(path=name)) from exc
    suites: list[TestSuite] = []
    for doc in parse_documents(text, name, lazy_positions=True):
        if doc.data is None:
            continue
        kind = doc.data.get("kind") if isinstance(doc.data, dict) else None
        if kind == "AccessSnapshot":
            continue  # checked by ztauth test from the ledger's own tests/, not from a path
        if kind != "TestSuite":
            raise DocumentError(
                f"expected kind: TestSuite, found {kind!r}", span=doc.span_at(("kind",))
            )
        problems: list[DocumentError] = schema_errors(doc, KIND_SCHEMAS["TestSuite"])
        suite = None if problems else build_suite(doc, problems)
        if problems:
            raise problems[0]
        if suite is not None:
            suites.append(suite)
    return suites


def check_suites(suites: Iterable[TestSuite]) -> None:
    """Check what the schema cannot: unique suite names, unique case names within a suite
    (reports name cases ``suite/case``), and ``{$token: name}`` references to declared tokens.

    Raises:
        SuiteError: the first problem, at the offending suite or case.
    """
    first_suite: dict[str, Span] = {}
    for suite in suites:
        if suite.name in first_suite:
            raise SuiteError(
                f"duplicate test suite {suite.name!r} (first defined at {first_suite[suite.name]})",
                span=suite.span,
            )
        first_suite[suite.name] = suite.span
        declared = {spec.name for spec in suite.tokens}
        first_case: dict[str, Span] = {}
        for case in suite.cases:
            if case.name in first_case:
                raise SuiteError(
                    f"duplicate case {case.name!r} in suite {suite.name!r} "
                    f"(first defined at {first_case[case.name]})",
                    span=case.span,
                )
            first_case[case.name] = case.span
            for ref in token_references(case.request):
                check_token_reference(ref, declared, case, suite=suite.name)


def select_cases(
    suites: Sequence[TestSuite], pattern: str | None
) -> tuple[tuple[TestSuite, ...], int]:
    """Keep the cases whose ``suite/case`` name contains ``pattern`` (case-insensitive, like
    ``pytest -k`` with one word); suites left without cases are dropped.

    Returns the selected suites and the number of deselected cases.
    """
    if not pattern:
        return tuple(suites), 0
    needle = pattern.casefold()
    selected: list[TestSuite] = []
    deselected = 0
    for suite in suites:
        cases = tuple(c for c in suite.cases if needle in case_id(suite.name, c.name).casefold())
        deselected += len(suite.cases) - len(cases)
        if cases:
            selected.append(dataclasses.replace(suite, cases=cases))
    return tuple(selected), deselected
