"""What must hold before a ledger is trusted (``eval``, ``test``) or released (``version bump``).

* The signature gate (DESIGN.md, "Signing and versions"): whenever signatures are required,
  ``eval`` and ``test`` verify them first, and every decision on a ledger that fails is deny
  ``ledger_unverified``. What is required is not the manifest's alone to say: a
  :class:`~ztauth_cli.ledger.signing.SignerPin` from outside the ledger fixes the trusted keys
  and a floor the manifest can raise but never lower.
* The release gates: HEAD is tagged only when lint passes, the test suites pass and required
  signatures verify (against the pin when one is given), all on HEAD's content (never the
  working tree).
* The serving gate (``ztauth serve``): a revision is served only when it is lint clean and its
  required signatures verify; otherwise the revision served before it keeps serving.

The command-line shell asks these questions; it does not answer them itself.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from ztauth_cli.engine import Evaluator
    from ztauth_cli.ledger.signing import SignerPin
    from ztauth_cli.ledger.versions import Gate
    from ztauth_cli.model import Ledger
    from ztauth_cli.testing import IssuerKeys

__all__ = ["release_gates", "serve_problem", "suite_evaluator", "unverified_reason"]

# How many failing cases a refused release names before '...'.
_FAILING_SHOWN = 5


def unverified_reason(ledger: Ledger, *, now: datetime, pin: SignerPin | None = None) -> str | None:
    """Why ``ledger`` must not be trusted, or None.

    None when nothing requires a signature: neither the manifest nor the ``pin``. Otherwise
    the verification summary unless ``max(pinned floor, settings.require_signatures)``
    distinct signers verify, against the pinned keys only when keys are pinned, else against
    the manifest's signers. Never raises for a bad signature: that is the reason returned.
    """
    from ztauth_cli.ledger.signing.keys import NO_PIN

    pin = pin if pin is not None else NO_PIN
    required = pin.requirement(ledger)
    if required <= 0:
        return None
    from ztauth_cli.ledger.signing.verify import verify_ledger

    result = verify_ledger(
        ledger,
        jwks=pin.keys,
        jwks_source=pin.source or "--signers-jwks",
        require=required,
        now=now,
    )
    return None if result.ok else str(result.summary)


def serve_problem(ledger: Ledger, *, now: datetime, pin: SignerPin | None = None) -> str | None:
    """Why ``ledger`` must not be served (one line), or None.

    A PDP that swaps in a new revision refuses it rather than denying everything on it: lint
    errors (the same rules as ``ztauth policy lint``, warnings allowed) and required signatures
    that do not verify both refuse it.
    """
    problem = _lint_problem(ledger, now=now, where="")
    if problem is not None:
        return problem
    reason = unverified_reason(ledger, now=now, pin=pin)
    return f"signatures: {reason}" if reason is not None else None


def suite_evaluator(
    ledger: Ledger,
    keys: IssuerKeys,
    *,
    now: datetime,
    revision: str | None,
    pin: SignerPin | None = None,
) -> Evaluator:
    """The engine a test run uses: the ledger with its issuers' keys replaced by the run's
    freshly generated ones, behind the signature gate (pinned by ``pin`` when given).

    Raises:
        DocumentError: the ledger's policies, schema or entities are unusable.
    """
    from ztauth_cli.engine import Evaluator

    return Evaluator.from_ledger(
        ledger,
        issuer_keys=keys.trusted_jwks(ledger),
        unverified_reason=unverified_reason(ledger, now=now, pin=pin),
        revision=revision,
    )


def release_gates(*, now: Callable[[], datetime], pin: SignerPin | None = None) -> tuple[Gate, ...]:
    """The checks HEAD must pass before it is released: lint, test suites, signatures.

    Each gate returns None when it passes, else one line saying why the release is refused.
    HEAD's ledger is loaded once and shared by the three gates; with ``pin``, the suites and
    the signatures are checked against it (a revision the pin does not vouch for is never
    tagged).
    """
    loaded: dict[tuple[Path, str], Ledger] = {}

    def head_ledger(root: Path, head: str) -> Ledger:
        from ztauth_cli.ledger import load

        if (root, head) not in loaded:
            loaded[(root, head)] = load(root, rev=head, tolerant=True)
        return loaded[(root, head)]

    def lint_gate(root: Path, head: str) -> str | None:
        return _lint_problem(head_ledger(root, head), now=now())

    def test_gate(root: Path, head: str) -> str | None:
        return _test_problem(head_ledger(root, head), head=head, now=now(), pin=pin)

    def signature_gate(root: Path, head: str) -> str | None:
        reason = unverified_reason(head_ledger(root, head), now=now(), pin=pin)
        return f"signatures: {reason}" if reason is not None else None

    return (lint_gate, test_gate, signature_gate)


def _lint_problem(ledger: Ledger, *, now: datetime, where: str = " at HEAD") -> str | None:
    # The same rules as `ztauth policy lint` (warnings allowed, as there), on HEAD's content.
    from ztauth_cli.lint import exit_code, lint_ledger
    from ztauth_cli.model.findings import Severity

    result = lint_ledger(ledger, now=now)
    if exit_code(result) == 0:
        return None
    errors = sorted(
        (f for f in result.report.active if f.severity is Severity.ERROR),
        key=lambda f: (str(f.span or ""), f.rule_id),
    )
    first = errors[0]
    span = f"{first.span}: " if first.span is not None else ""
    return f"lint: {len(errors)} error(s){where}, first: {span}{first.rule_id} {first.message}"


def _test_problem(ledger: Ledger, *, head: str, now: datetime, pin: SignerPin | None) -> str | None:
    from ztauth_cli.errors import ZtauthError
    from ztauth_cli.testing import IssuerKeys, ledger_suites, mint_suite_tokens, run_suites

    try:
        suites = ledger_suites(ledger)
        keys = IssuerKeys.for_suites(suites, ledger=ledger)
        tokens = mint_suite_tokens(suites, ledger, keys=keys, now=now)
        evaluator = suite_evaluator(ledger, keys, now=now, revision=head, pin=pin)
        run = run_suites(evaluator, suites, tokens=tokens, now=now)
    except ZtauthError as exc:
        # One line per refused gate: a hint joins its message.
        return f"tests: cannot run the suites at HEAD: {exc.diagnostics().replace(chr(10), '; ')}"
    if not run.failed:
        return None
    failing = sorted(f"{r.suite}/{r.case.name}" for r in run.results if r.mismatches)
    more = " ..." if len(failing) > _FAILING_SHOWN else ""
    return f"tests: {run.failed} case(s) fail at HEAD: {', '.join(failing[:_FAILING_SHOWN])}{more}"
