"""Verify ledger signatures: every JWS, every file digest, and the signer quorum.

Verification fails closed. A ledger is verified only when ``.signatures.json`` exists, every
signature in it verifies (a good key, an allowed algorithm, this ledger's ZTID, and the exact
files present now), and the signatures come from at least ``required`` DISTINCT signer keys
(``settings.require_signatures``, raised by a pinned ``require``, at least 1). Everything
found wrong is named, sorted: files added, removed or changed since signing (path, expected,
actual), unknown keys, refused algorithms, signatures made for another ledger.
:func:`gate_findings` compares the gate itself with a base revision (``policy verify --base``).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import datetime, timezone
from typing import Any, Literal

from ztauth_cli import jose
from ztauth_cli.errors import DocumentError
from ztauth_cli.ledger.load import SIGNATURES
from ztauth_cli.ledger.signing.hash import HASH_ALGORITHM, FileDigest, file_digests
from ztauth_cli.ledger.signing.keys import SIGNING_ALGORITHMS, signer_keys
from ztauth_cli.ledger.signing.sign import parse_signatures
from ztauth_cli.model import Ledger

__all__ = [
    "FileChange",
    "SignatureCheck",
    "VerificationResult",
    "compare_files",
    "gate_findings",
    "signature_state",
    "verify_ledger",
    "with_findings",
]

State = Literal["verified", "unsigned", "invalid"]


@dataclass(frozen=True, slots=True, kw_only=True)
class FileChange:
    """A file that differs from what a signature covers."""

    path: str
    change: Literal["added", "removed", "changed"]
    expected: str | None  # the signed digest (None: the file was not signed)
    actual: str | None  # the digest now (None: the file is gone)

    def describe(self) -> str:
        """One line: what changed, with both digests when there are two."""
        if self.change == "added":
            return f"{self.path}: added since signing (not covered by the signature)"
        if self.change == "removed":
            return f"{self.path}: removed since signing (signed {self.expected})"
        return (
            f"{self.path}: changed since signing (expected {self.expected}, actual {self.actual})"
        )

    def to_json(self) -> dict[str, Any]:
        """``{path, change, expected, actual}``."""
        return {
            "path": self.path,
            "change": self.change,
            "expected": self.expected,
            "actual": self.actual,
        }


@dataclass(frozen=True, slots=True, kw_only=True)
class SignatureCheck:
    """The verdict on one signature of ``.signatures.json`` (1-based ``index``)."""

    index: int
    kid: str | None
    alg: str | None
    issuer: str | None
    issued_at: int | None
    valid: bool
    problems: tuple[str, ...]
    changes: tuple[FileChange, ...]
    signer: str | None  # RFC 7638 thumbprint of the key that verified it

    @property
    def issued_at_text(self) -> str | None:
        """``issued_at`` in RFC 3339 UTC (``...Z``), for reports."""
        return jose.format_time(self.issued_at) if self.issued_at is not None else None

    def to_json(self) -> dict[str, Any]:
        """The stable JSON form used by ``policy verify --format json``."""
        return {
            "index": self.index,
            "kid": self.kid,
            "alg": self.alg,
            "issuer": self.issuer,
            "issued_at": self.issued_at,
            "valid": self.valid,
            "problems": list(self.problems),
            "changes": [c.to_json() for c in self.changes],
        }


@dataclass(frozen=True, slots=True, kw_only=True)
class VerificationResult:
    """The verdict on a ledger: ``ok`` only when enough distinct signers verify everything."""

    ok: bool
    state: State
    summary: str
    required: int
    valid_signers: tuple[str, ...]  # kids of the distinct keys with a valid signature, sorted
    problems: tuple[str, ...]
    signatures: tuple[SignatureCheck, ...]
    files: tuple[FileDigest, ...]  # the digests of the ledger as it is now
    keys_source: str | None

    def to_json(self) -> dict[str, Any]:
        """The stable JSON form used by ``policy verify --format json``."""
        return {
            "verified": self.ok,
            "state": self.state,
            "summary": self.summary,
            "required": self.required,
            "valid_signers": list(self.valid_signers),
            "signers_jwks": self.keys_source,
            "files": len(self.files),
            "signatures": [c.to_json() for c in self.signatures],
            "problems": list(self.problems),
        }


def compare_files(
    signed: Sequence[FileDigest], actual: Sequence[FileDigest]
) -> tuple[FileChange, ...]:
    """Files added, removed or changed between ``signed`` and ``actual``, sorted by path."""
    before = {d.name: d.hash for d in signed}
    after = {d.name: d.hash for d in actual}
    changes = []
    for path in sorted(before.keys() | after.keys()):
        old, new = before.get(path), after.get(path)
        if old == new:
            continue
        change: Literal["added", "removed", "changed"] = (
            "added" if old is None else "removed" if new is None else "changed"
        )
        changes.append(FileChange(path=path, change=change, expected=old, actual=new))
    return tuple(changes)


def _signed_files(payload: Mapping[str, Any]) -> tuple[FileDigest, ...] | str:
    files = payload.get("files")
    if not isinstance(files, list):
        return "payload has no 'files' list"
    result = []
    for item in files:
        if not (
            isinstance(item, dict)
            and isinstance(item.get("name"), str)
            and isinstance(item.get("hash"), str)
        ):
            return "payload 'files' entries must be {name, hash, algorithm}"
        algorithm = item.get("algorithm", HASH_ALGORITHM)
        if algorithm != HASH_ALGORITHM:
            return (
                f"file {item['name']} is hashed with {algorithm!r}; "
                f"only {HASH_ALGORITHM} is accepted"
            )
        result.append(FileDigest(name=item["name"], hash=item["hash"]))
    names = [d.name for d in result]
    if len(set(names)) != len(names):
        return "payload 'files' lists a file twice"
    return tuple(result)


def _check_one(
    index: int,
    token: str,
    *,
    keys: Sequence[Mapping[str, Any]],
    keys_source: str | None,
    ztid: str | None,
    actual: Sequence[FileDigest],
    now: datetime,
) -> SignatureCheck:
    def result(problem: str, **known: Any) -> SignatureCheck:
        return SignatureCheck(
            index=index,
            kid=known.get("kid"),
            alg=known.get("alg"),
            issuer=None,
            issued_at=None,
            valid=False,
            problems=(problem,),
            changes=(),
            signer=None,
        )

    try:
        header, _unverified = jose.decode_unverified(token)
    except jose.TokenError as exc:
        return result(exc.message)
    raw_kid, raw_alg = header.get("kid"), header.get("alg")
    kid = raw_kid if isinstance(raw_kid, str) else None
    alg = raw_alg if isinstance(raw_alg, str) else None
    # Refuse 'none' and HMAC by name before any key is looked at (RFC 8725 §2.1, §3.1): an
    # HMAC "signature" keyed with a published public key can be forged by anyone.
    if alg is None:
        return result("header has no 'alg'", kid=kid)
    if alg.lower() == "none":
        return result(
            "algorithm 'none' refused: an unsigned signature proves nothing", kid=kid, alg=alg
        )
    if alg.upper().startswith("HS"):
        return result(
            f"HMAC algorithm {alg!r} refused: ledger signatures are checked with public keys, "
            "and an HMAC keyed with a public key is forgeable (key confusion)",
            kid=kid,
            alg=alg,
        )
    if alg not in SIGNING_ALGORITHMS:
        return result(
            f"algorithm {alg!r} is not allowed for ledger signatures "
            f"(allowed: {', '.join(SIGNING_ALGORITHMS)})",
            kid=kid,
            alg=alg,
        )
    # Distinct signers are counted by key, so every signature must name its key.
    if kid is None:
        return result("header has no 'kid'; the signer key cannot be identified", alg=alg)
    jwk = next((k for k in keys if k.get("kid") == kid), None)
    if jwk is None:
        where = f" in {keys_source}" if keys_source else ""
        return result(f"unknown key {kid!r} (not a trusted signer{where})", kid=kid, alg=alg)
    try:
        # No 'exp' in a ledger signature: it attests content, it is not a bearer credential.
        payload = jose.verify(
            token, keys=[jwk], algorithms=SIGNING_ALGORITHMS, now=now, require_exp=False
        )
    except jose.TokenError as exc:
        return result(exc.message, kid=kid, alg=alg)
    issuer = payload.get("iss") if isinstance(payload.get("iss"), str) else None
    iat = payload.get("iat") if isinstance(payload.get("iat"), int) else None
    problems: list[str] = []
    signed_for = payload.get("ledger")
    if signed_for != ztid:
        problems.append(f"signed for another ledger {signed_for!r} (this ledger is {ztid!r})")
    signed = _signed_files(payload)
    changes: tuple[FileChange, ...] = ()
    if isinstance(signed, str):
        problems.append(signed)
    else:
        changes = compare_files(signed, actual)
        problems.extend(c.describe() for c in changes)
    return SignatureCheck(
        index=index,
        kid=kid,
        alg=alg,
        issuer=issuer,
        issued_at=iat,
        valid=not problems,
        problems=tuple(problems),
        changes=changes,
        signer=jose.jwk_thumbprint(jwk),
    )


def verify_ledger(
    ledger: Ledger,
    *,
    jwks: Sequence[Mapping[str, Any]] | None = None,
    jwks_source: str = "--jwks",
    require: int = 0,
    now: datetime | None = None,
) -> VerificationResult:
    """Verify the signatures of ``ledger`` (as loaded: working tree or any revision).

    ``jwks`` replaces the manifest's ``signers`` JWKS (a pin: the only keys trusted).
    ``require`` is a floor on the number of distinct signers that the manifest can raise but
    not lower. ``now`` (default: the wall clock) only guards against signatures issued in the
    future. Never raises for bad signatures: every problem is a value in the result; ``ok`` is
    False unless everything verifies.
    """
    moment = now if now is not None else datetime.now(timezone.utc)
    settings = ledger.manifest.settings if ledger.manifest is not None else None
    configured = settings.require_signatures if settings is not None else 0
    # Verifying explicitly with nobody required would be meaningless: at least one signer.
    required = max(1, configured, require)
    # Name the rule that sets the bar: a pinned count, the manifest's setting, or verify's own
    # floor of one when nothing asks for more (and then eval and test do not verify at all).
    if require > configured and require >= 1:
        bar = f"{required} required by the pinned --require-signatures"
    elif configured >= 1:
        bar = f"{required} required by settings.require_signatures"
    else:
        bar = (
            "1 required to call it verified (settings.require_signatures is 0: "
            "eval and test do not check signatures)"
        )
    actual = file_digests(ledger)
    signers = signer_keys(ledger, jwks=jwks, jwks_source=jwks_source)
    problems: list[str] = list(signers.problems)

    try:
        tokens = parse_signatures(ledger.signatures_text)
    except DocumentError as exc:
        tokens = ()
        problems.append(f"{SIGNATURES}: {exc.message}")
        malformed = True
    else:
        malformed = False
    if SIGNATURES not in {f.path for f in ledger.files}:
        return _result(
            state="unsigned",
            summary=f"not verified: the ledger is unsigned (no {SIGNATURES})",
            required=required,
            problems=[f"no {SIGNATURES}: the ledger is unsigned", *problems],
            checks=(),
            actual=actual,
            source=signers.source,
        )
    if not tokens and not malformed:
        problems.append(f"{SIGNATURES} holds no signature")

    checks = tuple(
        _check_one(
            i,
            token,
            keys=signers.keys,
            keys_source=signers.source,
            ztid=ledger.ztid,
            actual=actual,
            now=moment,
        )
        for i, token in enumerate(tokens, start=1)
    )
    for check in checks:
        who = f"signature {check.index}" + (f" (kid {check.kid})" if check.kid else "")
        problems.extend(f"{who}: {p}" for p in check.problems)

    distinct: dict[str, str] = {}
    for check in checks:
        if check.valid and check.signer is not None and check.kid is not None:
            distinct.setdefault(check.signer, check.kid)
    valid_signers = tuple(sorted(distinct.values()))
    if len(valid_signers) < required:
        problems.append(f"{len(valid_signers)} valid distinct signer(s), {bar}")
    ok = not problems and len(valid_signers) >= required
    if ok:
        summary = (
            f"verified: {len(valid_signers)} distinct signer(s) "
            f"({', '.join(valid_signers)}), {bar}; {len(actual)} files"
        )
    else:
        summary = f"not verified: {problems[0]}" + (
            f" (and {len(problems) - 1} more problem(s))" if len(problems) > 1 else ""
        )
    return _result(
        state="verified" if ok else "invalid",
        summary=summary,
        required=required,
        problems=problems,
        checks=checks,
        actual=actual,
        source=signers.source,
        valid_signers=valid_signers,
    )


def _result(
    *,
    state: State,
    summary: str,
    required: int,
    problems: Sequence[str],
    checks: tuple[SignatureCheck, ...],
    actual: tuple[FileDigest, ...],
    source: str | None,
    valid_signers: tuple[str, ...] = (),
) -> VerificationResult:
    return VerificationResult(
        ok=state == "verified",
        state=state,
        summary=summary,
        required=required,
        valid_signers=valid_signers,
        problems=tuple(problems),
        signatures=checks,
        files=actual,
        keys_source=source,
    )


def signature_state(ledger: Ledger, *, now: datetime | None = None) -> tuple[State, str | None]:
    """``("verified" | "unsigned" | "invalid", reason)`` for history and version listings."""
    result = verify_ledger(ledger, now=now)
    if result.state == "invalid":
        return result.state, result.problems[0] if result.problems else result.summary
    return result.state, None


def with_findings(result: VerificationResult, findings: Sequence[str]) -> VerificationResult:
    """``result`` with ``findings`` (see :func:`gate_findings`) added: not verified if any."""
    if not findings:
        return result
    problems = (*result.problems, *findings)
    summary = f"not verified: {problems[0]}" + (
        f" (and {len(problems) - 1} more problem(s))" if len(problems) > 1 else ""
    )
    return replace(
        result,
        ok=False,
        state="invalid" if result.state == "verified" else result.state,
        summary=summary,
        problems=problems,
    )


def _signer_set(ledger: Ledger) -> tuple[str | None, dict[tuple[str, str], str]]:
    """The manifest's signers path and its usable keys: ``(kid, thumbprint) -> kid``."""
    manifest = ledger.manifest
    if manifest is None or manifest.signers is None:
        return None, {}
    keys = signer_keys(ledger).keys
    return manifest.signers, {(str(k["kid"]), jose.jwk_thumbprint(k)): str(k["kid"]) for k in keys}


def _describe_change(
    before: tuple[str | None, dict[tuple[str, str], str]],
    after: tuple[str | None, dict[tuple[str, str], str]],
) -> str | None:
    parts = []
    if before[0] != after[0]:
        parts.append(f"{before[0] or 'none'} -> {after[0] or 'none'}")
    added = sorted(after[1][k] for k in after[1].keys() - before[1].keys())
    removed = sorted(before[1][k] for k in before[1].keys() - after[1].keys())
    if added:
        parts.append(f"added: {', '.join(added)}")
    if removed:
        parts.append(f"removed: {', '.join(removed)}")
    return "; ".join(parts) or None


def gate_findings(
    ledger: Ledger, base: Ledger, *, base_label: str, floor: int = 0, now: datetime | None = None
) -> tuple[str, ...]:
    """How ``ledger`` weakened the signature gate of ``base`` (an earlier revision), sorted.

    A finding is a manifest that lowered ``settings.require_signatures``, or a signers JWKS
    that changed (another path, a key added, removed or replaced): the ledger's own files
    would decide who may sign them. A change is approved, and not a finding, when the ledger
    carries valid signatures of its current content by as many distinct keys of the BASE's
    signers as the base required (at least 1): the quorum in force approved its successor, as
    TUF rotates root keys. Where the base required no signature and ``floor`` (the pinned
    requirement) is 0 there was no gate, and a signers change weakens nothing.
    """
    base_required = base.manifest.settings.require_signatures if base.manifest else 0
    required_now = ledger.manifest.settings.require_signatures if ledger.manifest else 0
    before, after = _signer_set(base), _signer_set(ledger)
    issues = []
    if required_now < base_required:
        issues.append(
            f"settings.require_signatures lowered from {base_required} (at {base_label}) "
            f"to {required_now}"
        )
    change = _describe_change(before, after)
    # Where the base required no signature and nothing is pinned there was no gate to weaken
    # (first signers set up on a ledger that never required any): not a finding.
    if change is not None and max(floor, base_required) > 0:
        issues.append(f"signers JWKS {after[0] or before[0]} changed since {base_label} ({change})")
    if not issues:
        return ()
    quorum = max(1, base_required)
    base_keys = signer_keys(base).keys if before[0] is not None else ()
    approval = verify_ledger(ledger, jwks=base_keys, jwks_source=base_label, now=now)
    approvers = approval.valid_signers
    if len(approvers) >= quorum:
        return ()
    found = f"{len(approvers)} found" + (f": {', '.join(approvers)}" if approvers else "")
    return tuple(
        f"{issue}, without the signatures of {quorum} signer(s) trusted at {base_label} ({found})"
        for issue in sorted(issues)
    )
