"""Tokens of test suites, minted at run time with fresh keys (DESIGN.md, "Test suites").

No private key is ever read from or written to the ledger: every issuer named by a suite gets a
fresh key pair for the run, trusted for that run only, and ``signed_by: untrusted`` tokens are
signed with a second fresh key the engine is never told about. Tokens are minted once per run
(per suite and name) so that large runs are not dominated by signing.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from ztauth_cli.errors import SuiteError

if TYPE_CHECKING:
    from ztauth_cli.model import Ledger, TestCase, TestSuite, TokenSpec

__all__ = [
    "DEFAULT_EXPIRES_IN",
    "IssuerKey",
    "IssuerKeys",
    "MintedTokens",
    "check_token_reference",
    "mint_suite_tokens",
    "mint_token",
    "resolve_request",
    "token_references",
]

# A token without ``expires_in`` is valid for an hour after the suite's clock: long enough for
# any case, short enough that nobody mistakes it for a long-lived credential.
DEFAULT_EXPIRES_IN = timedelta(hours=1)
TOKEN_REF = "$token"  # noqa: S105 - the reference key of the suite format, not a secret

# Algorithms tried, fastest key generation first; the first one the issuer allows is used.
_PREFERENCE = (
    "EdDSA",
    "ES256",
    "ES384",
    "ES512",
    "PS256",
    "RS256",
    "PS384",
    "RS384",
    "PS512",
    "RS512",
)


@dataclass(frozen=True, slots=True, kw_only=True)
class IssuerKey:
    """The run's key material for one issuer.

    ``private`` signs trusted tokens; ``untrusted`` signs ``signed_by: untrusted`` tokens under the
    same ``kid`` (so the engine finds the key and the signature check itself must fail).
    """

    issuer: str
    alg: str
    kid: str
    public_jwk: Mapping[str, Any]
    # Opaque key handles of the JOSE wrapper (``jose.PrivateKeyHandle``).
    private: Any
    untrusted: Any


@dataclass(frozen=True, slots=True, kw_only=True)
class IssuerKeys:
    """Fresh key pairs, one per issuer, for one test run (shared by every suite of the run).

    The DIFF engineer replays suites against two ledgers with the same ``IssuerKeys`` and the same
    :class:`MintedTokens`, so that both sides see byte-identical tokens.
    """

    keys: Mapping[str, IssuerKey]

    @classmethod
    def generate(cls, issuers: Iterable[str], *, ledger: Ledger | None = None) -> IssuerKeys:
        """Generate a key pair (and an untrusted twin) for every issuer name in ``issuers``.

        The algorithm is the first of EdDSA, ES256, ... that the ledger's ``Issuer`` document
        allows (EdDSA when the issuer is unknown or allows none ztauth can sign with).

        Raises:
            ZtauthError: when the JOSE layer cannot generate a key (never for supported algs).
        """
        from ztauth_cli import jose

        keys: dict[str, IssuerKey] = {}
        for name in sorted(set(issuers)):
            alg = _algorithm_for(name, ledger)
            # A fixed kid, not the fresh key's thumbprint: reports that name the key (a forged
            # token's "signature does not verify with key ...") stay the same from run to run.
            kid = f"ztauth-test:{name}"
            pair = jose.generate_key(alg, kid=kid)
            twin = jose.generate_key(alg, kid=kid)
            keys[name] = IssuerKey(
                issuer=name,
                alg=alg,
                kid=pair.kid,
                public_jwk=dict(pair.public_jwk),
                private=jose.load_private_key_pem(pair.private_pem),
                untrusted=jose.load_private_key_pem(twin.private_pem),
            )
        return cls(keys=keys)

    @classmethod
    def for_suites(cls, suites: Iterable[TestSuite], *, ledger: Ledger | None = None) -> IssuerKeys:
        """Keys for every issuer named by a token of ``suites``."""
        return cls.generate(
            (spec.issuer for suite in suites for spec in suite.tokens), ledger=ledger
        )

    def trusted_jwks(self, ledger: Ledger | None = None) -> dict[str, list[dict[str, Any]]]:
        """``issuer_keys`` for ``Evaluator.from_ledger``: issuer name -> [public JWK].

        With ``ledger``, only issuers the ledger declares are included: a suite may mint a token
        from an issuer the ledger does not know, and that token must stay untrusted.
        """
        declared = None if ledger is None else {i.name for i in ledger.issuers}
        return {
            name: [dict(key.public_jwk)]
            for name, key in sorted(self.keys.items())
            if declared is None or name in declared
        }


def _algorithm_for(issuer: str, ledger: Ledger | None) -> str:
    doc = ledger.issuer(issuer) if ledger is not None else None
    if doc is None:
        return _PREFERENCE[0]
    allowed = set(doc.algorithms)
    return next((alg for alg in _PREFERENCE if alg in allowed), _PREFERENCE[0])


@dataclass(frozen=True, slots=True, kw_only=True)
class MintedTokens:
    """Compact JWTs of one run, by suite name and then token name."""

    by_suite: Mapping[str, Mapping[str, str]]

    def for_suite(self, suite: str) -> Mapping[str, str]:
        """The tokens of suite ``suite`` (empty when it declares none)."""
        return self.by_suite.get(suite, {})


def mint_token(
    spec: TokenSpec,
    *,
    key: IssuerKey,
    at: datetime,
    default_audience: str | None,
) -> str:
    """Mint one token of a suite.

    Claims: ``iss`` = the issuer name, ``aud`` = the spec's ``audience`` or ``default_audience``
    (the issuer's audience, else the ledger ZTID), ``iat`` = ``at``, ``exp`` = ``at`` +
    ``expires_in`` (default one hour), ``nbf`` = ``at`` + ``not_before`` when given; the suite's
    ``claims`` are applied last and may override any of these.
    """
    from ztauth_cli import jose

    claims: dict[str, Any] = {"iss": spec.issuer, "iat": _epoch(at)}
    audience = spec.audience or default_audience
    if audience is not None:
        claims["aud"] = audience
    claims["exp"] = _epoch(
        at + (spec.expires_in if spec.expires_in is not None else DEFAULT_EXPIRES_IN)
    )
    if spec.not_before is not None:
        claims["nbf"] = _epoch(at + spec.not_before)
    claims.update(spec.claims)
    signer = key.untrusted if spec.signed_by == "untrusted" else key.private
    return jose.sign(claims, signer, alg=key.alg, kid=key.kid)


def _epoch(when: datetime) -> int:
    return int(when.timestamp())


def mint_suite_tokens(
    suites: Sequence[TestSuite],
    ledger: Ledger,
    *,
    keys: IssuerKeys,
    now: datetime,
) -> MintedTokens:
    """Mint every token declared by ``suites``, once each.

    ``now`` is the clock of suites without ``at``. The audience defaults to the issuer's
    ``audience`` in ``ledger``, then to the ledger's ZTID.

    Raises:
        SuiteError: when a token's issuer has no key in ``keys``.
    """
    by_suite: dict[str, dict[str, str]] = {}
    for suite in suites:
        at = suite.at or now
        minted: dict[str, str] = {}
        for spec in suite.tokens:
            key = keys.keys.get(spec.issuer)
            if key is None:
                raise SuiteError(f"no key was generated for issuer {spec.issuer!r}", span=spec.span)
            issuer = ledger.issuer(spec.issuer)
            audience = (issuer.audience if issuer is not None else None) or ledger.ztid
            minted[spec.name] = mint_token(spec, key=key, at=at, default_audience=audience)
        by_suite[suite.name] = minted
    return MintedTokens(by_suite=by_suite)


def token_references(value: Any) -> Iterable[Mapping[str, Any]]:
    """Every ``{$token: name}`` mapping found (recursively) in ``value``, in document order."""
    found: list[Mapping[str, Any]] = []
    _references(value, found)
    return found


def _references(value: Any, found: list[Mapping[str, Any]]) -> None:
    kind = type(value)
    if kind in _LEAVES:
        return
    if kind is dict or (kind is not list and isinstance(value, Mapping)):
        if TOKEN_REF in value:
            found.append(value)
            return
        for item in value.values():
            if type(item) not in _LEAVES:
                _references(item, found)
    elif isinstance(value, list):
        for item in value:
            if type(item) not in _LEAVES:
                _references(item, found)


def resolve_request(case: TestCase, tokens: Mapping[str, str]) -> dict[str, Any]:
    """The case's request with every ``{$token: name}`` replaced by the minted token.

    Raises:
        SuiteError: an unknown token name, or a malformed ``$token`` reference (at the case).
    """
    resolved = _resolve(case.request, tokens, case)
    # The request is a mapping by the suite schema.
    return dict(resolved)


def check_token_reference(
    ref: Mapping[str, Any], declared: Collection[str], case: TestCase, *, suite: str | None = None
) -> str:
    """The token name of a ``{$token: name}`` reference, checked against the suite's tokens.

    One check for both moments a reference is read: when suites are discovered (``suite`` names
    the suite in the message) and when a request is resolved (a request can come from elsewhere,
    e.g. a replayed diff, so the check is repeated there and fails closed).

    Raises:
        SuiteError: a reference with other keys or a non-string name, or an undeclared name.
    """
    name = ref[TOKEN_REF]
    if len(ref) != 1 or not isinstance(name, str):
        raise SuiteError(
            f"case {case.name!r}: a token reference must be exactly {{$token: <name>}}",
            span=case.span,
        )
    if name not in declared:
        names = ", ".join(sorted(declared)) or "none"
        owner = f"suite {suite!r}" if suite is not None else "this suite"
        raise SuiteError(
            f"case {case.name!r}: unknown token {name!r} ({owner} declares: {names})",
            span=case.span,
        )
    return name


# Values copied as they are, without a look inside (most of a request): checked by exact type,
# cheaper than the Mapping ABC check every value would otherwise pay.
_LEAVES = frozenset({str, int, float, bool, type(None)})


def _resolve(value: Any, tokens: Mapping[str, str], case: TestCase) -> Any:
    kind = type(value)
    if kind in _LEAVES:
        return value
    if kind is dict or (kind is not list and isinstance(value, Mapping)):
        if TOKEN_REF in value:
            return tokens[check_token_reference(value, tokens.keys(), case)]
        return {
            key: item if type(item) in _LEAVES else _resolve(item, tokens, case)
            for key, item in value.items()
        }
    if isinstance(value, list):
        return [item if type(item) in _LEAVES else _resolve(item, tokens, case) for item in value]
    return value
