"""The one ledger loader: a working tree or any Git revision -> an immutable :class:`Ledger`.

YAML parsing, schema validation, size/alias/symlink/``../`` limits and cross-file id
uniqueness are decided here and nowhere else. Code after the loader sees model objects only.
"""

from __future__ import annotations

import json
import os
import posixpath
import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import field
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ztauth_cli.collector import collector_paused
from ztauth_cli.errors import DocumentError, LedgerNotFound
from ztauth_cli.fileio import NotRegularFileError, read_limited
from ztauth_cli.ledger.schemas import KIND_SCHEMAS, schema_errors
from ztauth_cli.ledger.yaml import SourceDocument, parse_documents
from ztauth_cli.model import (
    ActorRef,
    AttestationRequirement,
    Delegation,
    Elevation,
    EntityFile,
    EntitySelector,
    Issuer,
    KeySet,
    Ledger,
    LedgerFile,
    LintConfig,
    Manifest,
    PolicyFile,
    RequestEntityRule,
    SecurityGroup,
    Settings,
    Span,
    Suppression,
    TrustLevel,
    Ztid,
)
from ztauth_cli.model.documents import DEFAULT_REQUEST_ENTITIES
from ztauth_cli.model.ids import parse_ztid
from ztauth_cli.model.record import record

if TYPE_CHECKING:
    from ztauth_cli.model.suites import AccessSnapshot, TestSuite

__all__ = [
    "MANIFEST",
    "MAX_FILE_BYTES",
    "SIGNATURES",
    "build_ledger",
    "find_ledger_root",
    "find_repo_root",
    "is_ledger_file",
    "load",
    "parse_duration",
    "parse_timestamp",
    "read_commit_files",
    "read_revision_files",
    "read_worktree_files",
]

MANIFEST = "ztauth.yaml"
SIGNATURES = ".signatures.json"
DEFAULT_SCHEMA = "schema.cedarschema"
# A policy ledger is text written by people; anything larger is a mistake or an attack.
MAX_FILE_BYTES = 1024 * 1024

_DURATION = re.compile(r"(-?)([0-9]+)(ms|s|m|h|d)")
_UNITS = {"ms": "milliseconds", "s": "seconds", "m": "minutes", "h": "hours", "d": "days"}
_SUPPRESSION = re.compile(
    r"(?:#|//)\s*ztauth:\s*ignore\s+(?P<rules>ZT\d+(?:\s*,\s*ZT\d+)*)\s*(?:--\s*(?P<reason>.*))?$"
)


def is_ledger_file(path: str) -> bool:
    """True for the files the loader reads (``path`` relative to the ledger, POSIX)."""
    if path in {MANIFEST, SIGNATURES} or path.endswith(".cedarschema"):
        return True
    top, _, rest = path.partition("/")
    if not rest:
        return path.endswith(".cedarschema.json")
    suffix = posixpath.splitext(path)[1]
    return (
        (top == "policies" and suffix == ".cedar")
        or (top == "entities" and suffix in {".json", ".yaml", ".yml"})
        or (top in {"trust", "tests"} and suffix in {".yaml", ".yml"})
        or (top == "keys" and path.endswith(".jwks.json"))
    )


def find_ledger_root(start: Path) -> Path:
    """The nearest folder at or above ``start`` holding ``ztauth.yaml``.

    Raises:
        LedgerNotFound: when there is none.
    """
    current = start.resolve()
    if current.is_file():
        current = current.parent
    for candidate in (current, *current.parents):
        if (candidate / MANIFEST).is_file():
            return candidate
    raise LedgerNotFound(
        f"no {MANIFEST} in {start} or any folder above it",
        hint="pass --ledger PATH, or create a ledger with 'ztauth policy init'",
    )


def find_repo_root(path: Path) -> Path | None:
    """The nearest folder at or above ``path`` holding ``.git``, or ``None``."""
    current = path.resolve()
    for candidate in (current, *current.parents):
        if (candidate / ".git").exists():
            return candidate
    return None


@record(slots=True)
class _FileSet:
    files: dict[str, bytes] = field(default_factory=dict)
    problems: list[DocumentError] = field(default_factory=list)


def read_worktree_files(root: Path) -> tuple[dict[str, bytes], list[DocumentError]]:
    """Read every ledger file under ``root``, enforcing the size and symlink limits; a FIFO,
    device or socket where a ledger file belongs is a problem, never opened for reading."""
    result = _FileSet()
    real_root = root.resolve()
    for folder, dirs, names in os.walk(root):
        dirs[:] = sorted(d for d in dirs if d != ".git")
        for name in sorted(names):
            full = Path(folder) / name
            rel = full.relative_to(root).as_posix()
            if not is_ledger_file(rel):
                continue
            if full.is_symlink():
                target = full.resolve()
                if not target.is_relative_to(real_root):
                    result.problems.append(
                        DocumentError(
                            "symlink points outside the ledger; refusing to read it",
                            span=Span(path=rel),
                        )
                    )
                    continue
            try:
                # Regular files only, opened without blocking: a FIFO planted in a ledger
                # would otherwise hang every command that reads it.
                data = read_limited(full, limit=MAX_FILE_BYTES, regular_only=True)
            except NotRegularFileError as exc:
                result.problems.append(DocumentError(str(exc.strerror), span=Span(path=rel)))
                continue
            except OSError as exc:
                result.problems.append(
                    DocumentError(
                        f"cannot read the file: {exc.strerror or exc}", span=Span(path=rel)
                    )
                )
                continue
            if len(data) > MAX_FILE_BYTES:
                result.problems.append(_too_large(rel, full.stat().st_size))
                continue
            result.files[rel] = data
    return result.files, result.problems


def read_revision_files(
    root: Path, rev: str, *, absent_ok: bool = False
) -> tuple[dict[str, bytes], list[DocumentError], str]:
    """Read every ledger file under ``root`` as it was at Git revision ``rev``.

    Returns the files, the problems met, and the full commit sha. The working tree is not read.
    With ``absent_ok``, a folder that does not exist at ``rev`` holds no files.

    Raises:
        GitError: when ``root`` is not in a repository or ``rev`` does not resolve.
    """
    from ztauth_cli.errors import GitError
    from ztauth_cli.ledger import git

    repo_root = git.find_repo_root(root)
    if repo_root is None:
        raise GitError(f"{root} is not inside a Git repository, so revision {rev!r} cannot be read")
    repo = git.open_repo(repo_root)
    try:
        sha = git.resolve_revision(repo, rev)
        subdir = git.relpath_in_repo(repo_root, root)
        if absent_ok and subdir and git.subtree_id(repo, sha.decode(), subdir) is None:
            return {}, [], sha.decode()
        files, problems = read_commit_files(repo, sha, subdir)
    finally:
        repo.close()
    return files, problems, sha.decode()


def read_commit_files(
    repo: Any, sha: bytes, subdir: str, *, blobs: dict[bytes, bytes] | None = None
) -> tuple[dict[str, bytes], list[DocumentError]]:
    """The ledger files under ``subdir`` at commit ``sha`` of an open repository, with the
    size and symlink limits; ``blobs`` caches blob contents across calls (see git.read_tree).

    Raises:
        GitError: when ``subdir`` does not exist at that commit.
    """
    from ztauth_cli.ledger import git

    tree = git.read_tree(repo, sha, subdir, keep=is_ledger_file, blobs=blobs)
    files: dict[str, bytes] = {}
    problems: list[DocumentError] = [
        DocumentError("symlinks are not allowed in a ledger revision", span=Span(path=path))
        for path in tree.symlinks
        if is_ledger_file(path)
    ]
    for path, data in sorted(tree.files.items()):
        if len(data) > MAX_FILE_BYTES:
            problems.append(_too_large(path, len(data)))
            continue
        files[path] = data
    return files, problems


def _too_large(path: str, size: int) -> DocumentError:
    return DocumentError(
        f"file is {size} bytes; the limit for a ledger file is {MAX_FILE_BYTES} bytes",
        span=Span(path=path),
    )


def load(
    root: Path | None = None,
    rev: str | None = None,
    *,
    tolerant: bool = False,
    absent_ok: bool = False,
    suites: bool = True,
) -> Ledger:
    """Load the ledger at ``root`` (default: the nearest one above the current folder).

    With ``rev``, the ledger is read as it was at that Git revision or tag.
    With ``tolerant``, document errors are collected in ``Ledger.problems`` (for lint);
    otherwise the first error outside ``tests/`` is raised. With ``absent_ok`` (and ``rev``),
    a revision from before the ledger existed is an empty ledger (no manifest, no files):
    what ``policy diff`` compares the commit adding a ledger with.
    With ``suites=False`` the
    ``tests/`` documents are not parsed (``Ledger.suites`` is empty): what evaluates requests
    never reads them, and they are not signed.

    Raises:
        LedgerNotFound, GitError, DocumentError.
    """
    if rev is not None:
        start = root if root is not None else Path.cwd()
        try:
            base = find_ledger_root(start)
        except LedgerNotFound:
            base = start.resolve()  # the ledger may exist only at that revision
        files, problems, commit = read_revision_files(base, rev, absent_ok=absent_ok)
        if MANIFEST not in files and absent_ok:
            return build_ledger({}, root=str(base), revision=commit, problems=())
        if MANIFEST not in files:
            raise LedgerNotFound(f"no {MANIFEST} in {base} at revision {rev}")
    else:
        base = find_ledger_root(root if root is not None else Path.cwd())
        files, problems = read_worktree_files(base)
        commit = None
    # Bounded by the ledger's files: see ztauth_cli/collector.py.
    with collector_paused():
        ledger = build_ledger(
            files, root=str(base), revision=commit, problems=problems, suites=suites
        )
    if not tolerant:
        raise_problems(ledger)
    return ledger


def raise_problems(ledger: Ledger, *, include_suites: bool = False) -> None:
    """Raise the first problem of ``ledger`` (suites' problems only with ``include_suites``).

    Raises:
        DocumentError: the first problem, in path/line order.
    """
    for problem in ledger.problems:
        path = problem.span.path if problem.span else ""
        if include_suites or not path.startswith("tests/"):
            raise problem


# ----------------------------------------------------------------------------- building


# The folders whose every file a full build reads for the evaluator (see build_ledger).
_EVALUATED_FOLDERS = ("policies/", "entities/", "trust/")


class _Builder:
    def __init__(self, files: Mapping[str, bytes], problems: Iterable[DocumentError]) -> None:
        self.files = files
        self.problems: list[DocumentError] = list(problems)
        self.texts: dict[str, str] = {}
        self.suppressions: list[Suppression] = []
        # Every file whose content reaches the evaluator, recorded where it is read: the
        # signed set is derived from this (signing/hash.py), so that what is signed and what
        # is loaded can never disagree (a schema under tests/ once escaped the signature).
        self.evaluated: set[str] = set()

    def text(self, path: str, *, evaluated: bool = True) -> str | None:
        """The decoded text of ``path``; ``evaluated=False`` only for suites and signatures."""
        if evaluated:
            self.evaluated.add(path)
        if path in self.texts:
            return self.texts[path]
        data = self.files[path]
        try:
            text = data.decode("utf-8")
        except UnicodeDecodeError as exc:
            line = data[: exc.start].count(b"\n") + 1
            column = exc.start - (data.rfind(b"\n", 0, exc.start) + 1) + 1
            self.problems.append(
                DocumentError(
                    f"invalid UTF-8 (byte 0x{data[exc.start]:02x})",
                    span=Span(path=path, line=line, column=column),
                )
            )
            return None
        text = text.removeprefix("\ufeff")
        self.texts[path] = text
        self._scan_suppressions(path, text)
        return text

    def _scan_suppressions(self, path: str, text: str) -> None:
        if "ztauth:" not in text:
            return  # the usual case, found without cutting a large file into lines
        for number, line in enumerate(text.splitlines(), start=1):
            if "ztauth:" not in line:
                continue
            match = _SUPPRESSION.search(line)
            if match is None:
                continue
            alone = line[: match.start()].strip() == ""
            reason = (match.group("reason") or "").strip()
            for rule in re.split(r"\s*,\s*", match.group("rules")):
                self.suppressions.append(
                    Suppression(
                        span=Span(path=path, line=number, column=match.start() + 1),
                        rule=rule,
                        reason=reason,
                        target_line=number + 1 if alone else number,
                    )
                )

    def documents(
        self, path: str, *, evaluated: bool = True, lazy_positions: bool = False
    ) -> list[SourceDocument]:
        text = self.text(path, evaluated=evaluated)
        if text is None:
            return []
        try:
            parsed = parse_documents(text, path, lazy_positions=lazy_positions)
            return [d for d in parsed if d.data is not None]
        except DocumentError as exc:
            self.problems.append(exc)
            return []

    def valid(self, doc: SourceDocument, kind: str) -> bool:
        errors = schema_errors(doc, KIND_SCHEMAS[kind])
        self.problems.extend(errors)
        return not errors

    def check_ref(self, doc: SourceDocument, key: tuple[str | int, ...], ref: str) -> str | None:
        """A ledger-relative file reference: no absolute path, no escape with '..'."""
        normal = posixpath.normpath(ref)
        if ref.startswith("/") or normal.startswith("..") or "\\" in ref:
            self.problems.append(
                DocumentError(
                    f"file reference {ref!r} must stay inside the ledger (no '/' prefix or '..')",
                    span=doc.span_at(key),
                )
            )
            return None
        return normal


def _kind_of(doc: SourceDocument) -> str | None:
    data = doc.data
    return data.get("kind") if isinstance(data, dict) else None


def build_ledger(
    files: Mapping[str, bytes],
    *,
    root: str,
    revision: str | None,
    problems: Iterable[DocumentError] = (),
    documents: bool = True,
    suites: bool = True,
) -> Ledger:
    """Build a :class:`Ledger` from its files (ledger-relative POSIX path -> bytes).

    With ``documents=False`` only what signature verification reads is built: the manifest,
    the key sets, the signatures and every file's bytes (no policies, entities, trust
    documents or suites, and no problems of theirs). History and version listings verify
    many revisions this way. With ``suites=False`` the ``tests/`` documents (test suites,
    access snapshots) are not parsed, and none of their problems is collected.

    Never raises for bad content: every problem is collected in ``Ledger.problems``.
    """
    b = _Builder(files, problems)
    manifest = _manifest(b) if MANIFEST in files else None
    if MANIFEST not in files:
        b.problems.append(DocumentError(f"{MANIFEST} is missing", span=Span(path=MANIFEST)))

    schema_path = manifest.schema if manifest is not None else None
    if schema_path is None and DEFAULT_SCHEMA in files:
        schema_path = DEFAULT_SCHEMA
    schema_text = None
    if schema_path is not None and documents:
        if schema_path in files:
            schema_text = b.text(schema_path)
        else:
            b.problems.append(
                DocumentError(
                    f"schema file {schema_path!r} does not exist", span=Span(path=MANIFEST)
                )
            )

    paths = sorted(files)
    content = paths if documents else []
    if not documents:
        # Nothing is parsed, but the signed set (hash.signed_paths) must be exactly the one a
        # full build records: a verification of this revision may not skip a file.
        b.evaluated.update(p for p in paths if p.startswith(_EVALUATED_FOLDERS))
        if schema_path is not None and schema_path in files:
            b.evaluated.add(schema_path)
    policy_files = tuple(
        PolicyFile(span=Span(path=p), text=t)
        for p in content
        if p.startswith(_EVALUATED_FOLDERS[0]) and (t := b.text(p)) is not None
    )
    entity_files = tuple(
        e for p in content if p.startswith(_EVALUATED_FOLDERS[1]) for e in _entity_file(b, p)
    )
    key_sets = tuple(k for p in paths if p.startswith("keys/") for k in _key_set(b, p))

    trust: dict[str, list[Any]] = {
        k: [] for k in KIND_SCHEMAS if k not in {"Ledger", "TestSuite", "AccessSnapshot"}
    }
    for path in (p for p in content if p.startswith(_EVALUATED_FOLDERS[2])):
        for doc in b.documents(path):
            kind = _kind_of(doc)
            if kind not in trust:
                b.problems.append(
                    DocumentError(
                        f"unknown kind {kind!r} in trust/; expected one of "
                        f"{', '.join(sorted(trust))}",
                        span=doc.span_at(("kind",)),
                    )
                )
                continue
            if b.valid(doc, kind):
                trust[kind].append(_TRUST_BUILDERS[kind](b, doc))

    snapshots: list[AccessSnapshot] = []
    # Suites are not signed and evaluating never reads them: eval skips parsing them.
    suite_paths = [p for p in content if p.startswith("tests/")] if suites else []
    test_suites = tuple(s for p in suite_paths for s in _suites(b, p, snapshots=snapshots))
    # A signature cannot cover itself.
    signatures_text = b.text(SIGNATURES, evaluated=False) if SIGNATURES in files else None

    _check_unique(b, trust["TrustLevel"], "name", "trust level")
    _check_unique(b, trust["SecurityGroup"], "name", "security group")
    _check_unique(b, trust["Elevation"], "id", "elevation")
    _check_unique(b, trust["Delegation"], "id", "delegation")
    _check_unique(b, trust["Issuer"], "name", "issuer")
    _check_unique(b, list(test_suites), "name", "test suite")
    _check_unique(b, snapshots, "name", "access snapshot")

    return Ledger(
        root=root,
        revision=revision,
        manifest=manifest,
        schema_text=schema_text,
        schema_path=schema_path,
        policy_files=policy_files,
        entity_files=entity_files,
        trust_levels=tuple(trust["TrustLevel"]),
        groups=tuple(trust["SecurityGroup"]),
        elevations=tuple(trust["Elevation"]),
        delegations=tuple(trust["Delegation"]),
        issuers=tuple(trust["Issuer"]),
        key_sets=key_sets,
        suites=test_suites,
        signatures_text=signatures_text,
        files=tuple(LedgerFile(path=p, data=files[p]) for p in paths),
        evaluated_paths=frozenset(b.evaluated),
        suppressions=tuple(b.suppressions),
        snapshots=tuple(snapshots),
        problems=tuple(
            sorted(
                b.problems,
                key=lambda e: (e.span.path, e.span.line, e.span.column) if e.span else ("", 0, 0),
            )
        ),
    )


def _check_unique(b: _Builder, docs: list[Any], attr: str, what: str) -> None:
    def where(doc: Any) -> Span:
        span: Span = doc.fields.first(attr, default=doc.span)
        return span

    seen: dict[str, Any] = {}
    for doc in docs:
        key = getattr(doc, attr)
        if key in seen:
            # The line of each name:/id: key, looked up only for a duplicate.
            first = where(seen[key])
            b.problems.append(
                DocumentError(
                    f"duplicate {what} {key!r} (first defined at {first})", span=where(doc)
                )
            )
        else:
            seen[key] = doc


def _manifest(b: _Builder) -> Manifest | None:
    docs = b.documents(MANIFEST)
    if not docs:
        # Unparsable YAML was already reported: only a manifest that parsed to nothing is empty.
        parsed = not any(p.span is not None and p.span.path == MANIFEST for p in b.problems)
        if MANIFEST in b.texts and parsed:
            b.problems.append(DocumentError("the manifest is empty", span=Span(path=MANIFEST)))
        return None
    doc = docs[0]
    if len(docs) > 1:
        b.problems.append(
            DocumentError("the manifest must hold exactly one document", span=docs[1].span)
        )
    if _kind_of(doc) != "Ledger":
        b.problems.append(
            DocumentError(
                f"the manifest must have kind: Ledger, found {_kind_of(doc)!r}",
                span=doc.span_at(("kind",)),
            )
        )
        return None
    if not b.valid(doc, "Ledger"):
        return None
    data = doc.data
    try:
        parse_ztid(data["ledger"])
    except ValueError as exc:
        b.problems.append(DocumentError(str(exc), span=doc.span_at(("ledger",))))
    meta = data["metadata"]
    runtime = data.get("runtime", {})
    settings = data.get("settings", {})
    lint_config = data.get("lint", {})
    schema = data.get("schema")
    signers = data.get("signers")
    return Manifest(
        span=doc.span,
        fields=doc.field_spans(),
        name=meta["name"],
        description=meta.get("description"),
        author=meta.get("author"),
        license=meta.get("license"),
        ledger=Ztid(data["ledger"]),
        runtime_language=runtime.get("language", "cedar"),
        runtime_version=str(runtime.get("version", "4")),
        schema=b.check_ref(doc, ("schema",), schema) if schema is not None else None,
        signers=b.check_ref(doc, ("signers",), signers) if signers is not None else None,
        settings=Settings(
            require_txn_token=settings.get("require_txn_token", False),
            require_signatures=settings.get("require_signatures", 0),
            max_chain_depth=settings.get("max_chain_depth", 4),
            request_entities=_request_entity_rules(b, doc, settings.get("request_entities")),
        ),
        lint=LintConfig(
            disable=tuple(lint_config.get("disable", ())),
            # YAML 1.1 reads a bare `off` as false: both mean the rule is off.
            severity=tuple(
                (str(rule), "off" if level is False else str(level))
                for rule, level in lint_config.get("severity", {}).items()
            ),
        ),
    )


def _request_entity_rules(
    b: _Builder, doc: SourceDocument, raw: Any
) -> tuple[RequestEntityRule, ...]:
    """``settings.request_entities`` (already schema-valid) as rules sorted by type."""
    if raw is None:
        return DEFAULT_REQUEST_ENTITIES
    rules = []
    for type_, what in sorted(raw.items()):
        allowed = {what} if isinstance(what, str) else set(what)
        if "parents" in allowed and (type_ == "Action" or type_.endswith("::Action")):
            # A request that could put Action::"delete" in Action::"read" would widen every
            # policy written for read: action groups are the ledger's alone.
            b.problems.append(
                DocumentError(
                    f"settings.request_entities.{type_}: a request may never give actions "
                    "parents (action groups belong to the schema and the ledger's entities)",
                    span=doc.span_at(("settings", "request_entities", type_)),
                )
            )
            allowed.discard("parents")
        rules.append(
            RequestEntityRule(
                type=type_, attributes="attributes" in allowed, parents="parents" in allowed
            )
        )
    return tuple(rules)


def parse_duration(text: str) -> timedelta:
    """Parse ``90s``, ``10m``, ``-1h``, ``7d``, ``250ms``.

    Raises:
        ValueError: for anything else.
    """
    match = _DURATION.fullmatch(text.strip())
    if match is None:
        raise ValueError(f"invalid duration {text!r}; expected e.g. 90s, 10m, 1h, 7d")
    sign, amount, unit = match.groups()
    value = timedelta(**{_UNITS[unit]: int(amount)})
    return -value if sign else value


def parse_timestamp(text: str) -> datetime:
    """Parse an RFC 3339 timestamp with a time zone into an aware UTC datetime.

    Raises:
        ValueError: for a malformed timestamp or one without a time zone.
    """
    value = datetime.fromisoformat(text.strip().replace("Z", "+00:00").replace("z", "+00:00"))
    if value.tzinfo is None:
        raise ValueError(f"timestamp {text!r} has no time zone; add Z or an offset")
    return value.astimezone(timezone.utc)


def _selector(raw: Mapping[str, Any] | None) -> EntitySelector | None:
    if raw is None:
        return None
    ids = tuple(raw.get("ids", ()))
    if "id" in raw:
        ids = (raw["id"], *ids)
    return EntitySelector(type=raw.get("type"), ids=ids)


def _actor(raw: Mapping[str, Any]) -> ActorRef:
    return ActorRef(group=raw.get("group"), workload=raw.get("workload"))


def _trust_level(b: _Builder, doc: SourceDocument) -> TrustLevel:
    data = doc.data
    attestation = data.get("requires", {}).get("attestation")
    return TrustLevel(
        span=doc.span,
        fields=doc.field_spans(),
        name=data["name"],
        rank=data["rank"],
        attestation=AttestationRequirement(
            max_age=parse_duration(attestation["max_age"]), issuer=attestation["issuer"]
        )
        if attestation
        else None,
    )


def _group(b: _Builder, doc: SourceDocument) -> SecurityGroup:
    data = doc.data
    return SecurityGroup(
        span=doc.span,
        fields=doc.field_spans(),
        name=data["name"],
        trust_level=data["trust_level"],
        members=tuple(data.get("members", ())),
        revoked=tuple(data.get("revoked", ())),
    )


def _elevation(b: _Builder, doc: SourceDocument) -> Elevation:
    data = doc.data
    requires = data.get("requires", {})
    subjects = _selector(data["subjects"]) or EntitySelector()
    return Elevation(
        span=doc.span,
        fields=doc.field_spans(),
        id=data["id"],
        actor=_actor(data["actor"]),
        subjects=subjects,
        actions=tuple(data["actions"]),
        resources=_selector(data.get("resources")),
        min_trust_level=requires.get("min_trust_level"),
        consent=requires.get("consent", False),
        condition=requires.get("condition"),
    )


def _delegation(b: _Builder, doc: SourceDocument) -> Delegation:
    data = doc.data
    valid = data.get("valid", {})
    consent = data.get("consent", {"required": True})
    delegator = _selector(data["delegator"]) or EntitySelector()
    times: dict[str, datetime | None] = {}
    for key in ("from", "until"):
        try:
            times[key] = parse_timestamp(valid[key]) if key in valid else None
        except ValueError as exc:
            b.problems.append(DocumentError(str(exc), span=doc.span_at(("valid", key))))
            times[key] = None
    return Delegation(
        span=doc.span,
        fields=doc.field_spans(),
        id=data["id"],
        delegator=delegator,
        delegate=_actor(data["delegate"]),
        actions=tuple(data["scope"]["actions"]),
        resources=_selector(data["scope"].get("resources")),
        valid_from=times["from"],
        valid_until=times["until"],
        consent_required=consent["required"],
        consent_issuer=consent.get("issuer"),
        max_depth=data.get("max_depth", 0),
    )


def _issuer(b: _Builder, doc: SourceDocument) -> Issuer:
    data = doc.data
    jwks = b.check_ref(doc, ("jwks",), data["jwks"]) or data["jwks"]
    return Issuer(
        span=doc.span,
        fields=doc.field_spans(),
        name=data["name"],
        jwks=jwks,
        algorithms=tuple(data["algorithms"]),
        audience=data.get("audience"),
        issues=tuple(data["issues"]),
    )


_TRUST_BUILDERS: dict[str, Callable[[_Builder, SourceDocument], Any]] = {
    "TrustLevel": _trust_level,
    "SecurityGroup": _group,
    "Elevation": _elevation,
    "Delegation": _delegation,
    "Issuer": _issuer,
}


def _entity_file(b: _Builder, path: str) -> list[EntityFile]:
    docs = b.documents(path)
    entities: list[dict[str, Any]] = []
    for doc in docs:
        items = doc.data
        if not isinstance(items, list):
            b.problems.append(
                DocumentError("an entities file must hold a list of Cedar entities", span=doc.span)
            )
            continue
        for index, item in enumerate(items):
            uid = item.get("uid") if isinstance(item, dict) else None
            if not (isinstance(uid, dict) and {"type", "id"} <= uid.keys()):
                b.problems.append(
                    DocumentError(
                        "a Cedar entity needs uid: {type, id}, attrs and parents",
                        span=doc.span_at((index,)),
                    )
                )
                continue
            entities.append(item)
    if not docs:
        return []
    return [EntityFile(span=Span(path=path), entities=tuple(entities))]


def _key_set(b: _Builder, path: str) -> list[KeySet]:
    text = b.text(path)
    if text is None:
        return []
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        b.problems.append(
            DocumentError(
                f"invalid JSON: {exc.msg}", span=Span(path=path, line=exc.lineno, column=exc.colno)
            )
        )
        return []
    keys = data.get("keys") if isinstance(data, dict) else None
    if not isinstance(keys, list) or not all(isinstance(k, dict) for k in keys):
        b.problems.append(
            DocumentError('a JWKS file must be {"keys": [<JWK>, ...]}', span=Span(path=path))
        )
        return []
    return [KeySet(span=Span(path=path), keys=tuple(keys), text=text)]


def _deep_merge(base: Mapping[str, Any], override: Mapping[str, Any]) -> dict[str, Any]:
    merged = dict(base)
    for key, value in override.items():
        if isinstance(value, Mapping) and isinstance(merged.get(key), Mapping):
            merged[key] = _deep_merge(merged[key], value)
        else:
            merged[key] = value
    return merged


def _suites(b: _Builder, path: str, *, snapshots: list[AccessSnapshot]) -> list[TestSuite]:
    suites = []
    # Suites say what to ask and what to expect; they never change an answer: not signed.
    # Thousands of cases: positions below a suite's cases and tokens only when asked for.
    for doc in b.documents(path, evaluated=False, lazy_positions=True):
        kind = _kind_of(doc)
        if kind == "AccessSnapshot":
            if b.valid(doc, kind):
                snapshot = build_snapshot(doc, b.problems)
                if snapshot is not None:
                    snapshots.append(snapshot)
            continue
        if kind != "TestSuite":
            b.problems.append(
                DocumentError(
                    f"unknown kind {kind!r} in tests/; expected TestSuite or AccessSnapshot",
                    span=doc.span_at(("kind",)),
                )
            )
            continue
        if not b.valid(doc, "TestSuite"):
            continue
        suite = build_suite(doc, b.problems)
        if suite is not None:
            suites.append(suite)
    return suites


def build_snapshot(doc: SourceDocument, problems: list[DocumentError]) -> AccessSnapshot | None:
    """Build a schema-valid ``AccessSnapshot``; problems are appended to ``problems``."""
    from ztauth_cli.model.suites import AccessSnapshot

    data = doc.data
    try:
        at = parse_timestamp(data["at"])
    except ValueError as exc:
        problems.append(DocumentError(str(exc), span=doc.span_at(("at",))))
        return None
    return AccessSnapshot(
        span=doc.span,
        fields=doc.field_spans(),
        name=data["name"],
        description=data.get("description"),
        at=at,
        context=dict(data.get("context") or {}),
        subjects=tuple(data["subjects"]),
        resources=tuple(data["resources"]),
        actions=tuple(data.get("actions") or ()),
        access=tuple(data["access"]),
        acting=tuple(data["acting"]),
    )


def build_suite(doc: SourceDocument, problems: list[DocumentError]) -> TestSuite | None:
    """Build a schema-valid ``TestSuite`` document; problems are appended to ``problems``."""
    from ztauth_cli.model.suites import Expectation, TestCase, TestSuite, TokenSpec

    data = doc.data
    try:
        at = parse_timestamp(data["at"]) if "at" in data else None
    except ValueError as exc:
        problems.append(DocumentError(str(exc), span=doc.span_at(("at",))))
        return None
    tokens = []
    for name, spec in sorted(data.get("tokens", {}).items()):
        try:
            expires = parse_duration(spec["expires_in"]) if "expires_in" in spec else None
            not_before = parse_duration(spec["not_before"]) if "not_before" in spec else None
        except ValueError as exc:
            problems.append(DocumentError(str(exc), span=doc.span_at(("tokens", name))))
            continue
        tokens.append(
            TokenSpec(
                span=doc.span_at(("tokens", name)),
                name=name,
                issuer=spec["issuer"],
                claims=dict(spec["claims"]),
                expires_in=expires,
                not_before=not_before,
                signed_by=spec.get("signed_by"),
                audience=spec.get("audience"),
            )
        )
    defaults = data.get("defaults", {})
    cases = []
    for index, case in enumerate(data["cases"]):
        expect = case["expect"]
        cases.append(
            TestCase(
                span=doc.span_at(("cases", index)),
                name=case["name"],
                request=_deep_merge(defaults, case["request"]),
                expect=Expectation(
                    decision=expect["decision"] == "allow",
                    code=expect.get("code"),
                    via=expect.get("via"),
                    policies=tuple(expect.get("policies", ())),
                ),
            )
        )
    return TestSuite(
        span=doc.span,
        fields=doc.field_spans(),
        name=data["name"],
        at=at,
        tokens=tuple(tokens),
        cases=tuple(cases),
    )
