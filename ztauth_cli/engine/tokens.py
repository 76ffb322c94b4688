"""Step 2 of the pipeline: verify tokens against the ledger's issuers.

A token is trusted only when its ``iss`` claim names an Issuer of the ledger, that issuer
lists the token's kind in ``issues``, the signature verifies with one of the issuer's keys under
one of the issuer's algorithms (``none`` and HMAC are always refused by ``jose.verify``, RFC
8725 §2.1), and ``exp``/``nbf``/``iat``/``aud`` hold against the injected clock.
"""

from __future__ import annotations

import math
import threading
from collections import OrderedDict
from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

from ztauth_cli import jose
from ztauth_cli.model.documents import Issuer
from ztauth_cli.model.ledger import Ledger
from ztauth_cli.model.record import record

__all__ = [
    "Keyring",
    "VerifiedToken",
    "act_of",
    "actor_chain",
    "ledger_key_sets",
    "scope_of",
    "verify_with_ledger_issuers",
]

# Distinct tokens remembered per keyring (least recently used dropped first).
_VERIFIED_CACHE_SIZE = 4096


@record(frozen=True, slots=True, kw_only=True)
class VerifiedToken:
    """A token whose signature and times verified: its kind, issuer and claims."""

    kind: str | None  # None: verified without naming a kind (``token inspect``)
    issuer: str
    claims: Mapping[str, Any]


class Keyring:
    """The ledger's issuers and the public keys each one may sign with."""

    def __init__(
        self,
        issuers: Sequence[Issuer],
        keys: Mapping[str, Sequence[Mapping[str, Any]]],
        *,
        extra_keys: Sequence[Mapping[str, Any]] = (),
    ) -> None:
        self.issuers = {i.name: i for i in issuers}
        self.keys = {name: tuple(k) for name, k in keys.items()}
        # Ad-hoc keys given with ``--jwks``: the user vouches for them for every issuer.
        self.extra_keys = tuple(extra_keys)
        # Outcomes by (kind, token, clock): the verified token, or the refusal's message.
        self._verified: OrderedDict[tuple[str, str, datetime], VerifiedToken | str] = OrderedDict()
        self._lock = threading.Lock()  # a server shares one keyring between threads

    def verify(self, kind: str, token: str, *, now: datetime) -> VerifiedToken:
        """Verify a token of ``kind`` (txn, consent, attestation, subject).

        A stream often carries the same token on many lines: a token this keyring verified
        as ``kind`` at the same ``now`` is not verified again.

        Raises:
            jose.TokenError: saying exactly which check failed.
        """
        # The key is everything the outcome depends on besides the keyring, which is fixed:
        # the whole token text (a token differing in any byte, tampered payload or signature
        # under the same header, is another key and is verified in full), the kind, and the
        # clock (a different instant re-verifies exp/nbf/iat). A success is served from here
        # only because this keyring verified exactly that token; a failure is remembered too
        # (as its message), so a stream repeating a bad token costs one verification and
        # still gets the same refusal every time: a cached failure can only ever deny.
        key = (kind, token, now)
        with self._lock:
            cached = self._verified.get(key)
            if cached is not None:
                self._verified.move_to_end(key)
        if isinstance(cached, VerifiedToken):
            return cached
        if cached is not None:
            raise jose.TokenError(cached)
        try:
            verified = verify_with_ledger_issuers(
                token,
                issuers=self.issuers,
                key_sets=self.keys,
                now=now,
                kind=kind,
                extra_keys=self.extra_keys,
            )
        except jose.TokenError as exc:
            self._remember(key, exc.message)
            raise
        self._remember(key, verified)
        return verified

    def _remember(self, key: tuple[str, str, datetime], outcome: VerifiedToken | str) -> None:
        with self._lock:
            self._verified[key] = outcome
            if len(self._verified) > _VERIFIED_CACHE_SIZE:
                self._verified.popitem(last=False)  # bounded: memory stays flat on streams


def ledger_key_sets(ledger: Ledger) -> dict[str, tuple[Mapping[str, Any], ...]]:
    """Each issuer's public keys: the keys of the JWKS its document names (none when that
    JWKS is not in the ledger)."""
    keys: dict[str, tuple[Mapping[str, Any], ...]] = {}
    for issuer in ledger.issuers:
        key_set = ledger.key_set(issuer.jwks)
        keys[issuer.name] = tuple(key_set.keys) if key_set is not None else ()
    return keys


def verify_with_ledger_issuers(
    token: str,
    *,
    issuers: Mapping[str, Issuer],
    key_sets: Mapping[str, Sequence[Mapping[str, Any]]],
    now: datetime,
    kind: str | None = None,
    extra_keys: Sequence[Mapping[str, Any]] = (),
) -> VerifiedToken:
    """Verify ``token`` against the issuer its ``iss`` names: the one check behind every
    token the engine accepts (and ``token inspect``).

    With ``kind`` the issuer must list it in ``issues``; without, the token verifies as a
    token of any kind the issuer issues (``exp`` is then optional only for an issuer of
    attestations, whose freshness is their age).

    Raises:
        jose.TokenError: saying exactly which check failed.
    """
    label = f"{kind} token" if kind is not None else "token"
    _header, unverified = jose.decode_unverified(token)
    name = unverified.get("iss")
    if not isinstance(name, str):
        raise jose.TokenError(f"{label} has no 'iss' claim naming a ledger issuer")
    issuer = issuers.get(name)
    if issuer is None:
        known = ", ".join(sorted(issuers)) or "none"
        raise jose.TokenError(
            f"{label} issuer {name!r} is not an issuer of this ledger (known: {known})"
        )
    if kind is not None and kind not in issuer.issues:
        raise jose.TokenError(
            f"issuer {name!r} may not issue {kind} tokens "
            f"(it issues: {', '.join(sorted(issuer.issues))})"
        )
    keys = (*key_sets.get(name, ()), *extra_keys)
    if not keys:
        kid = _header.get("kid")
        prefix = f"unknown kid {kid!r}: " if isinstance(kid, str) else ""
        raise jose.TokenError(f"{prefix}issuer {name!r} has no public keys in the ledger")
    # Before the signature: a NaN or infinite time compares false with every clock
    # (``now >= exp`` never holds), so such a token would never expire. Refuse it.
    for claim in ("exp", "nbf", "iat"):
        value = unverified.get(claim)
        if isinstance(value, float) and not math.isfinite(value):
            raise jose.TokenError(f"malformed token: claim {claim!r} is {value} (not a time)")
    # An attestation's freshness is its age (iat vs the trust level's max_age).
    require_exp = kind != "attestation" if kind is not None else "attestation" not in issuer.issues
    claims = jose.verify(
        token,
        keys=keys,
        algorithms=issuer.algorithms,
        now=now,
        audience=issuer.audience,
        issuer=name,
        require_exp=require_exp,
    )
    return VerifiedToken(kind=kind, issuer=name, claims=claims)


def act_of(claims: Mapping[str, Any]) -> str | None:
    """The actor id of an ``act`` claim: a string, or the RFC 8693 object ``{"sub": id}``."""
    act = claims.get("act")
    if isinstance(act, str):
        return act
    if isinstance(act, Mapping) and isinstance(act.get("sub"), str):
        return str(act["sub"])
    return None


def actor_chain(claims: Mapping[str, Any]) -> tuple[str, ...] | None:
    """The actors an ``act`` claim names, current actor first, then each prior actor of its
    nested ``act`` (RFC 8693 §4.1: "a chain of delegation can be expressed by nesting one act
    claim within another"); ``()`` without ``act``.

    ``None`` when any level is malformed (neither a string nor an object with a string
    ``sub``, or a nested ``act`` of another type): a chain that cannot be read is no proof,
    never a shorter one.
    """
    actors: list[str] = []
    act = claims.get("act")
    while act is not None:
        if isinstance(act, str):
            actors.append(act)
            break
        if not isinstance(act, Mapping) or not isinstance(act.get("sub"), str):
            return None
        actors.append(str(act["sub"]))
        act = act.get("act")
    return tuple(actors)


def scope_of(claims: Mapping[str, Any]) -> frozenset[str] | None:
    """The actions of a space-separated ``scope`` claim (RFC 8693 §4.2); ``None`` if absent."""
    scope = claims.get("scope")
    if scope is None:
        return None
    if isinstance(scope, str):
        return frozenset(scope.split())
    if isinstance(scope, list) and all(isinstance(s, str) for s in scope):
        return frozenset(scope)
    return frozenset()
