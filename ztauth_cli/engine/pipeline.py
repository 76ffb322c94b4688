"""The ZTAuth* decision pipeline (DESIGN.md "The decision pipeline"): deny by default.

Steps: ledger verified -> request well formed -> tokens verify -> actor trusted -> actor may
act on behalf of the subject -> every party of the chain linked to the one before by a signed
token, still trusted, and narrowing (:meth:`Evaluator._chain` states the rule) -> Cedar
business policy. The first failing step decides the reason code; every step is traced.

The engine is pure: the clock and the keys are passed in, nothing is read from files, the
network, the environment or the wall clock. It never raises on a request: any exception while
evaluating one becomes a deny with ``evaluation_error`` (fail closed).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import field, replace
from datetime import datetime, timezone
from typing import TYPE_CHECKING, Any, TypeGuard

from ztauth_cli import jose
from ztauth_cli.engine.cedar import (
    CedarEngine,
    CedarOutcome,
    CedarPolicy,
    engine_policies,
    parse_policy_files,
)
from ztauth_cli.engine.delegation import Coverage, Grant, OnBehalfOf
from ztauth_cli.engine.entities import EntityRules, cedar_record, describe_entities
from ztauth_cli.engine.forms import normalize_model
from ztauth_cli.engine.request import (
    Request,
    RequestProblem,
    action_id,
    action_uid,
    cedar_uid,
    expand_evaluations,
    parse_request,
    uid_text,
)
from ztauth_cli.engine.tokens import Keyring, VerifiedToken, act_of, actor_chain, scope_of
from ztauth_cli.engine.trust import TrustModel, TrustResult
from ztauth_cli.errors import DocumentError
from ztauth_cli.model.decision import Decision, ReasonCode, Step, TraceStep
from ztauth_cli.model.record import record
from ztauth_cli.model.span import Span

if TYPE_CHECKING:
    from ztauth_cli.model.documents import Elevation, Settings
    from ztauth_cli.model.ledger import Ledger

__all__ = ["USER_MESSAGES", "ZTAUTH_FIELDS", "Evaluator"]

# What an end user may be told (reason_user): no names of groups, keys or policies.
USER_MESSAGES: dict[ReasonCode, str] = {
    ReasonCode.ALLOWED: "Access granted.",
    ReasonCode.INVALID_REQUEST: "The request is malformed.",
    ReasonCode.INVALID_TOKEN: "A token in the request is not valid.",
    ReasonCode.UNTRUSTED_ACTOR: "The application acting for you is not trusted.",
    ReasonCode.UNAUTHORIZED_ACTOR: "The application is not authorized to act on your behalf.",
    ReasonCode.CONSENT_REQUIRED: "Your consent is required for this action.",
    ReasonCode.INVALID_CONSENT: "Your consent does not cover this action.",
    ReasonCode.INSUFFICIENT_SCOPE: "This action is outside what was granted.",
    ReasonCode.CHAIN_BROKEN: "A service that handled this request is not trusted.",
    ReasonCode.POLICY_DENIED: "Access denied by policy.",
    ReasonCode.LEDGER_UNVERIFIED: "The policy ledger could not be verified.",
    ReasonCode.EVALUATION_ERROR: "Access denied: the decision could not be evaluated.",
}

# The context.ztauth attributes, in order (docs/readme/30-eval.md).
ZTAUTH_FIELDS = (
    "actor",
    "actor_type",
    "delegated",
    "trust_level",
    "trust_rank",
    "groups",
    "via",
    "chain",
    "depth",
)
# Requests prepared and sent to Cedar together: large enough to amortise the Cedar call,
# small enough to keep the live object graph (and the garbage collector's work) small.
_CHUNK = 256
_UNKNOWN: Any = object()
# Entries kept in the engine's per-outcome and per-subject memories before they start afresh.
_VERDICTS = 1024
_SELVES = 1024
_NO_TOKENS = TraceStep(step=Step.TOKENS, passed=True, detail="no tokens in the request")

# Every token a request presents is verified in step 2, whether or not a later step needs it:
# a token that does not verify always denies (no presented token is ever ignored). A consent
# that does not verify is ``invalid_consent``; any other kind ``invalid_token``. Step 4 then
# checks a verified consent against the delegation or elevation that needs it.
_STEP2_KINDS = ("txn", "subject", "attestation", "consent")


class _Denied(Exception):
    def __init__(self, code: ReasonCode, step: Step, detail: str) -> None:
        super().__init__(detail)
        self.code = code
        self.step = step
        self.detail = detail


@record(slots=True)
class _State:
    """What one evaluation has established so far."""

    trace: list[TraceStep] = field(default_factory=list)
    touched: set[str] = field(default_factory=set)
    via: str | None = None


@record(slots=True)
class _Pending:
    """A request that passed steps 1-5 and waits for its Cedar answer (step 6)."""

    state: _State
    cedar_request: dict[str, Any]
    entities: Any


class Evaluator:
    """Evaluates AuthZEN requests against one ledger (policies parsed once, reused).

    Build it with :meth:`from_ledger`.
    """

    def __init__(
        self,
        *,
        ztid: str | None,
        revision: str | None,
        version: str | None,
        settings: Settings | None,
        cedar: CedarEngine,
        keyring: Keyring,
        trust: TrustModel,
        on_behalf_of: OnBehalfOf,
        unverified_reason: str | None,
    ) -> None:
        self.ztid = ztid
        self.revision = revision
        self.version = version
        self.require_txn_token = settings.require_txn_token if settings is not None else False
        self.max_chain_depth = settings.max_chain_depth if settings is not None else 4
        # What a request may say about entities the ledger does not define.
        self.entity_rules = (
            EntityRules(settings.request_entities) if settings is not None else EntityRules()
        )
        self.cedar = cedar
        self.keyring = keyring
        self.trust = trust
        self.on_behalf_of = on_behalf_of
        self.unverified_reason = unverified_reason
        words = cedar.identifiers
        # The context.ztauth attributes some policy can read (see CedarEngine.identifiers);
        # None when no policy mentions ztauth at all.
        self.ztauth_fields: tuple[str, ...] | None = (
            tuple(f for f in ZTAUTH_FIELDS if f in words) if "ztauth" in words else None
        )
        # With a schema, Cedar validates each request's context against the action's declared
        # context type (closed records): context.ztauth is sent only in the shape the schema
        # declares for the action. A schema that never names ztauth gets no context.ztauth;
        # otherwise the shape per action is found once, by asking Cedar (see _fields_for).
        # Elevation conditions are ztauth's own Cedar expressions, evaluated without the
        # schema: they always see the attributes some policy or condition reads.
        self._condition_fields = self.ztauth_fields or ()
        self._probing = cedar.schema is not None and "ztauth" in cedar.schema_text
        if cedar.schema is not None and not self._probing:
            self.ztauth_fields = None
        self._action_fields: dict[tuple[str, str], tuple[str, ...] | None] = {}
        # Step 6's reading of each distinct Cedar outcome (see _finish).
        self._verdicts: dict[
            int, tuple[CedarOutcome, ReasonCode, TraceStep, tuple[str, ...], tuple[str, ...]]
        ] = {}
        # The steps of a subject acting for itself, per subject (see _prepare_plain).
        self._selves: dict[tuple[str, str], tuple[str, TraceStep, TraceStep]] = {}

    @classmethod
    def from_ledger(
        cls,
        ledger: Ledger,
        *,
        issuer_keys: Mapping[str, Sequence[Mapping[str, Any]]] | None = None,
        extra_keys: Sequence[Mapping[str, Any]] = (),
        unverified_reason: str | None = None,
        revision: str | None = None,
        version: str | None = None,
    ) -> Evaluator:
        """Parse the ledger's policies, entities and conditions once.

        ``issuer_keys`` replaces the JWKS of the named issuers; ``extra_keys`` are trusted for
        every issuer; with ``unverified_reason`` every decision is ``ledger_unverified``.

        Raises:
            DocumentError: when the ledger's policies, entities or conditions are unusable.
        """
        # Usually every policy is read from its head and Cedar parses them all at once; when
        # that fails, each policy is parsed alone so that the error names its statement.
        quick = engine_policies(ledger.policy_files)
        policies = quick if quick is not None else _parsed_policies(ledger)
        entities = [e for f in ledger.entity_files for e in f.entities]
        conditions = {
            e.id: (e.condition, e.span) for e in ledger.elevations if e.condition is not None
        }
        try:
            cedar = CedarEngine(
                policies,
                entities,
                conditions=conditions,
                entities_span=ledger.entity_files[0].span if ledger.entity_files else None,
                schema=(
                    (ledger.schema_text, ledger.schema_path)
                    if ledger.schema_text is not None and ledger.schema_path is not None
                    else None
                ),
            )
        except DocumentError:
            if quick is not None:
                _parsed_policies(ledger)  # a broken policy is reported first, at its place
            raise
        keys: dict[str, Sequence[Mapping[str, Any]]] = {}
        for issuer in ledger.issuers:
            key_set = ledger.key_set(issuer.jwks)
            keys[issuer.name] = key_set.keys if key_set is not None else ()
        keys.update(issuer_keys or {})
        for name, issuer_jwks in keys.items():
            for jwk in issuer_jwks:
                problem = jose.validate_public_jwk(jwk)
                if problem is not None:
                    raise DocumentError(
                        f"key of issuer {name!r}: {problem}",
                        span=_issuer_span(ledger, name),
                    )
        keyring = Keyring(ledger.issuers, keys, extra_keys=extra_keys)
        trust = TrustModel(ledger.groups, ledger.trust_levels)
        return cls(
            ztid=ledger.ztid,
            revision=revision if revision is not None else ledger.revision,
            version=version,
            settings=ledger.manifest.settings if ledger.manifest is not None else None,
            cedar=cedar,
            keyring=keyring,
            trust=trust,
            on_behalf_of=OnBehalfOf(ledger.elevations, ledger.delegations, trust=trust),
            unverified_reason=unverified_reason,
        )

    # ------------------------------------------------------------------------- public API

    def evaluate(self, request: Mapping[str, Any], *, now: datetime) -> Decision:
        """Evaluate one AuthZEN request (``evaluations`` is ignored). Never raises."""
        return self.evaluate_many([request], now=now)[0]

    def evaluate_all(self, request: Mapping[str, Any], *, now: datetime) -> tuple[Decision, ...]:
        """Evaluate an AuthZEN request honouring ``evaluations`` and
        ``options.evaluations_semantic``; one decision without an ``evaluations`` array.
        Never raises.
        """
        return self.evaluate_batch(request, now=now)[0]

    def evaluate_batch(self, request: Any, *, now: datetime) -> tuple[tuple[Decision, ...], bool]:
        """Like :meth:`evaluate_all`, also saying whether the request was a batch (for the
        response shape). Never raises.
        """
        try:
            items, semantic, batch = expand_evaluations(request)
        except Exception as exc:
            code = (
                ReasonCode.INVALID_REQUEST
                if isinstance(exc, RequestProblem)
                else ReasonCode.EVALUATION_ERROR
            )
            return (self._deny_now(code, Step.REQUEST, str(exc)),), False
        decisions = self.evaluate_many(items, now=now)
        if semantic == "deny_on_first_deny":
            cut = next((i for i, d in enumerate(decisions) if not d.allowed), None)
        elif semantic == "permit_on_first_permit":
            cut = next((i for i, d in enumerate(decisions) if d.allowed), None)
        else:
            cut = None
        if cut is not None:
            decisions = decisions[: cut + 1]
        return tuple(decisions), batch

    def evaluate_many(self, requests: Iterable[Any], *, now: datetime) -> list[Decision]:
        """Evaluate independent requests (no ``evaluations`` expansion), batching the Cedar
        calls. Never raises: each failure is that request's ``evaluation_error`` deny.
        """
        moment = now if now.tzinfo is not None else now.replace(tzinfo=timezone.utc)
        decisions: list[Decision] = []
        chunk: list[Any] = []
        for raw in requests:
            chunk.append(raw)
            if len(chunk) >= _CHUNK:
                decisions += self._evaluate_chunk(chunk, moment)
                chunk = []
        if chunk:
            decisions += self._evaluate_chunk(chunk, moment)
        return decisions

    def _evaluate_chunk(self, requests: Sequence[Any], moment: datetime) -> list[Decision]:
        results: list[Decision | _Pending] = []
        for raw in requests:
            state = _State()
            try:
                results.append(self._prepare(raw, state, moment))
            except _Denied as denied:
                results.append(self._denied(denied, state))
            except Exception as exc:
                results.append(self._error(exc, state))
        groups: dict[int, list[int]] = {}
        for index, item in enumerate(results):
            if isinstance(item, _Pending):
                groups.setdefault(id(item.entities), []).append(index)
        for indexes in groups.values():
            pendings = [results[i] for i in indexes]
            try:
                outcomes = self.cedar.authorize_batch(
                    [p.cedar_request for p in pendings],  # type: ignore[union-attr]
                    pendings[0].entities,  # type: ignore[union-attr]
                )
            except Exception as exc:
                for i in indexes:
                    pending = results[i]
                    assert isinstance(pending, _Pending)  # noqa: S101 - grouped above
                    results[i] = self._error(exc, pending.state)
                continue
            for i, outcome in zip(indexes, outcomes, strict=True):
                pending = results[i]
                assert isinstance(pending, _Pending)  # noqa: S101 - grouped above
                try:
                    results[i] = self._finish(pending.state, outcome)
                except Exception as exc:
                    results[i] = self._error(exc, pending.state)
        return [r for r in results if isinstance(r, Decision)]

    def invalid_request(self, detail: str) -> Decision:
        """A deny ``invalid_request`` for input that never became a request (e.g. a line of
        a ``.jsonl`` stream that is not JSON).
        """
        return self._deny_now(ReasonCode.INVALID_REQUEST, Step.REQUEST, detail)

    # ------------------------------------------------------------------------- decisions

    def _decision(
        self,
        *,
        code: ReasonCode,
        message: str,
        state: _State,
        policies: tuple[str, ...] = (),
    ) -> Decision:
        return Decision(
            allowed=code is ReasonCode.ALLOWED,
            code=code,
            message=message,
            user_message=USER_MESSAGES[code],
            via=state.via,
            policies=policies,
            trace=tuple(state.trace),
            ledger=self.ztid,
            revision=self.revision,
            version=self.version,
            touched=tuple(sorted(state.touched)),
        )

    def _denied(self, denied: _Denied, state: _State) -> Decision:
        return self._decision(code=denied.code, message=denied.detail, state=state)

    def _error(self, exc: BaseException, state: _State) -> Decision:
        detail = f"evaluation failed ({type(exc).__name__}: {exc}); denied (fail closed)"
        state.trace.append(TraceStep(step=Step.POLICY, passed=False, detail=detail))
        return self._decision(code=ReasonCode.EVALUATION_ERROR, message=detail, state=state)

    def _deny_now(self, code: ReasonCode, step: Step, detail: str) -> Decision:
        state = _State()
        state.trace.append(TraceStep(step=step, passed=False, detail=detail))
        return self._decision(code=code, message=detail, state=state)

    @staticmethod
    def _fail(
        state: _State,
        code: ReasonCode,
        step: Step,
        detail: str,
        children: Sequence[TraceStep] = (),
    ) -> _Denied:
        state.trace.append(
            TraceStep(step=step, passed=False, detail=detail, children=tuple(children))
        )
        return _Denied(code, step, detail)

    @staticmethod
    def _pass(state: _State, step: Step, detail: str, children: Sequence[TraceStep] = ()) -> None:
        state.trace.append(
            TraceStep(step=step, passed=True, detail=detail, children=tuple(children))
        )

    # ------------------------------------------------------------------------- steps 0-5

    def _prepare_plain(self, raw: Any, state: _State) -> _Pending | None:
        """The hot path: a plain AuthZEN request (a subject acting for itself, no tokens, no
        properties). Gives exactly what the general path gives, or None to take that path.
        """
        if (
            type(raw) is not dict
            or self.unverified_reason is not None
            or self.require_txn_token
            or "authorization_model" in raw
            or "principal" in raw
        ):
            return None
        subject, action, resource = raw.get("subject"), raw.get("action"), raw.get("resource")
        context = raw.get("context", {})
        if not (
            type(subject) is dict
            and type(action) is dict
            and type(resource) is dict
            and type(context) is dict
            and "properties" not in subject
            and "properties" not in action
            and "properties" not in resource
        ):
            return None
        s_type, s_id, name = subject.get("type"), subject.get("id"), action.get("name")
        r_type, r_id = resource.get("type"), resource.get("id")
        if not (_text(s_type) and _text(s_id) and _text(name) and _text(r_type) and _text(r_id)):
            return None
        if "::" in name:
            return None
        fields = self.ztauth_fields
        if self._probing:
            fields = self._action_fields.get(("Action", name), _UNKNOWN)
            if fields is _UNKNOWN:
                return None  # the general path finds the action's context shape
        selves = self._selves.get((s_type, s_id))
        if selves is None:
            if len(self._selves) >= _SELVES:
                self._selves.clear()
            who = uid_text(s_type, s_id)
            selves = self._selves[(s_type, s_id)] = (
                who,
                TraceStep(step=Step.ACTOR_TRUST, passed=True, detail=f"{who} acts for itself"),
                TraceStep(
                    step=Step.ON_BEHALF_OF,
                    passed=True,
                    detail=f"{who} acts for itself; no grant needed",
                ),
            )
        who, acts, no_grant = selves
        trace = state.trace
        trace.append(
            TraceStep(
                step=Step.REQUEST, passed=True, detail=f"{who}: {name} on {uid_text(r_type, r_id)}"
            )
        )
        trace.append(_NO_TOKENS)
        trace.append(acts)
        trace.append(no_grant)
        notes: list[str] = []
        cedar_context = _cedar_context(context, notes)
        if notes:
            trace[0] = replace(trace[0], children=_note_steps(notes))
        if fields is not None:
            full: dict[str, Any] = {
                "actor": s_id,
                "actor_type": s_type,
                "delegated": False,
                "trust_level": "",
                "trust_rank": 0,
                "groups": [],
                "via": "",
                "chain": [],
                "depth": 1,
            }
            cedar_context["ztauth"] = {f: full[f] for f in fields}
        return _Pending(
            state=state,
            cedar_request={
                "principal": {"type": s_type, "id": s_id},
                "action": {"type": "Action", "id": name},
                "resource": {"type": r_type, "id": r_id},
                "context": cedar_context,
            },
            entities=self.cedar.entities,
        )

    def _prepare(self, raw: Any, state: _State, now: datetime) -> _Pending:
        plain = self._prepare_plain(raw, state)
        if plain is not None:
            return plain
        # Step 0: a ledger whose signatures do not verify decides nothing.
        if self.unverified_reason is not None:
            raise self._fail(
                state, ReasonCode.LEDGER_UNVERIFIED, Step.LEDGER, self.unverified_reason
            )

        # Step 1: the request.
        try:
            # The ZTAuth* and Permguard forms of authorization_model, mapped onto ztauth's.
            request = parse_request(normalize_model(raw, ztid=self.ztid))
            action = action_id(request.action)
            action_entity = action_uid(request.action)
        except RequestProblem as exc:
            raise self._fail(state, ReasonCode.INVALID_REQUEST, Step.REQUEST, str(exc)) from None
        if request.ledger is not None and request.ledger != self.ztid:
            raise self._fail(
                state,
                ReasonCode.INVALID_REQUEST,
                Step.REQUEST,
                f"the request is for ledger {request.ledger}, this ledger is {self.ztid}",
            )
        # What the request may describe to Cedar, and what it may not (ignored, noted).
        additions, notes = describe_entities(
            request, defined=self.cedar.defines, rules=self.entity_rules
        )
        context_base = _cedar_context(request.context, notes)
        actor = request.actor
        shape = f"{actor} acts for {request.subject}" if request.delegated else f"{request.subject}"
        self._pass(
            state,
            Step.REQUEST,
            f"{shape}: {action} on {request.resource}"
            + (f" through {len(request.chain)} earlier hop(s)" if request.chain else ""),
            _note_steps(notes),
        )

        # Step 2: tokens.
        verified, hop_tokens = self._tokens(request, state, now)

        # Step 3: actor trust.
        trust = self._actor_trust(request, verified, state, now)

        # Step 4: on behalf of (needs Cedar for elevation conditions: build the request now).
        try:
            entities = self.cedar.entities_for(additions)
        except ValueError as exc:
            raise self._fail(
                state,
                ReasonCode.INVALID_REQUEST,
                Step.REQUEST,
                f"Cedar rejected the request's entities: {exc}",
            ) from None
        cedar_request: dict[str, Any] = {
            "principal": cedar_uid(request.subject.type, request.subject.id),
            "action": action_entity,
            "resource": cedar_uid(request.resource.type, request.resource.id),
        }
        grant = self._on_behalf_of(
            request,
            action,
            trust,
            verified,
            hop_tokens,
            cedar_request,
            context_base,
            entities,
            state,
            now,
        )

        # Step 5: the chain.
        self._chain(request, action, grant, verified, hop_tokens, state, now)

        cedar_request["context"] = context_base
        fields = self._fields_for(cedar_request, request, trust, state.via, entities)
        if fields is not None:
            context_base["ztauth"] = _ztauth_context(request, trust, state.via, fields=fields)
        return _Pending(state=state, cedar_request=cedar_request, entities=entities)

    def _fields_for(
        self,
        cedar_request: dict[str, Any],
        request: Request,
        trust: TrustResult | None,
        via: str | None,
        entities: Any,
    ) -> tuple[str, ...] | None:
        """The context.ztauth attributes to send with this request's action (None: none).

        Without a schema: those some policy reads. With a schema declaring ztauth: the first
        shape Cedar accepts for the action — those the policies read, all attributes, none;
        none first when no policy that mentions ztauth can apply to the action (omitting
        what nobody reads changes no decision and saves Cedar the work) — learnt from the
        first valid request of each action and reused. When Cedar accepts none of them the
        request itself is invalid: the full shape is sent and step 6 reports Cedar's
        objection (``invalid_request``).
        """
        if not self._probing:
            return self.ztauth_fields
        action = cedar_request["action"]
        key = (action["type"], action["id"])
        if key in self._action_fields:
            return self._action_fields[key]
        candidates: list[tuple[str, ...] | None] = []
        if self.ztauth_fields is not None and self.ztauth_fields != ZTAUTH_FIELDS:
            candidates.append(self.ztauth_fields)
        candidates.append(ZTAUTH_FIELDS)
        if self.cedar.may_read_ztauth(action):
            candidates.append(None)
        else:
            candidates.insert(0, None)
        base = cedar_request["context"]
        fallback: tuple[str, ...] | None = ZTAUTH_FIELDS
        for fields in candidates:
            probe = dict(cedar_request)
            if fields is not None:
                probe["context"] = {
                    **base,
                    "ztauth": _ztauth_context(request, trust, via, fields=fields),
                }
            error = self.cedar.request_error(probe, entities)
            if error is None:
                self._action_fields[key] = fields
                return fields
            about_ztauth = any(f"`{n}`" in error for n in ("ztauth", *ZTAUTH_FIELDS))
            if not about_ztauth and fallback is ZTAUTH_FIELDS:
                # Cedar objects to something else: send this shape so its message says what.
                fallback = fields
        return fallback

    def _tokens(
        self, request: Request, state: _State, now: datetime
    ) -> tuple[dict[str, VerifiedToken], dict[int, dict[str, VerifiedToken]]]:
        if not request.tokens and not request.chain and not self.require_txn_token:
            state.trace.append(_NO_TOKENS)
            return {}, {}
        children: list[TraceStep] = []
        verified: dict[str, VerifiedToken] = {}

        subject = request.subject.id
        # Who may have signed the request's own consent: the subject (consent to the actor,
        # step 4), or in a chain the last hop (its link to the actor, step 5). A hop's consent
        # is its link from the previous party, which step 5 checks with the rest of the chain.
        delegators = {subject: "the subject"}
        if request.chain:
            delegators.setdefault(request.chain[-1].principal.id, "the last hop")

        def check(kind: str, token: str, where: str, *, top: bool) -> VerifiedToken:
            code = ReasonCode.INVALID_CONSENT if kind == "consent" else ReasonCode.INVALID_TOKEN
            try:
                result = self.keyring.verify(kind, token, now=now)
            except jose.TokenError as exc:
                children.append(
                    TraceStep(step=Step.TOKENS, passed=False, detail=f"{where}: {exc.message}")
                )
                raise self._fail(
                    state, code, Step.TOKENS, f"{where} is not valid: {exc.message}", children
                ) from None
            if top and kind == "consent" and result.claims.get("sub") not in delegators:
                allowed = " or ".join(f"{who!r} ({what})" for who, what in delegators.items())
                detail = (
                    f"{where}: consent was given by {result.claims.get('sub')!r}, not by {allowed}"
                )
                children.append(TraceStep(step=Step.TOKENS, passed=False, detail=detail))
                raise self._fail(state, code, Step.TOKENS, detail, children)
            children.append(
                TraceStep(
                    step=Step.TOKENS,
                    passed=True,
                    detail=f"{where} verified (issuer {result.issuer})",
                )
            )
            return result

        def bad(detail: str) -> _Denied:
            children.append(TraceStep(step=Step.TOKENS, passed=False, detail=detail))
            return self._fail(state, ReasonCode.INVALID_TOKEN, Step.TOKENS, detail, children)

        for kind in _STEP2_KINDS:
            if kind in request.tokens:
                verified[kind] = check(kind, request.tokens[kind], f"{kind} token", top=True)
        hop_tokens: dict[int, dict[str, VerifiedToken]] = {}
        for hop in request.chain:
            for kind in _STEP2_KINDS:
                if kind in hop.tokens:
                    where = f"chain[{hop.index}] {kind} token"
                    hop_tokens.setdefault(hop.index, {})[kind] = check(
                        kind, hop.tokens[kind], where, top=False
                    )

        txn = verified.get("txn")
        if txn is None and self.require_txn_token:
            raise bad("this ledger requires a transaction token (settings.require_txn_token)")
        if txn is not None:
            claims = txn.claims
            if claims.get("sub") != subject:
                raise bad(f"txn token is for subject {claims.get('sub')!r}, not {subject!r}")
            act = act_of(claims)
            if request.delegated and act != request.actor.id:
                raise bad(f"txn token names actor {act!r}, but {request.actor.id!r} acts")
            if not request.delegated and "act" in claims and act != subject:
                raise bad(f"txn token names actor {act!r}, but the request names none")
        for hop in request.chain:
            for kind, token in hop_tokens.get(hop.index, {}).items():
                # A hop's txn/subject token speaks for the same subject (and its txn for that
                # hop's workload): one about anybody else does not belong in this request.
                if kind in ("txn", "subject") and token.claims.get("sub") != subject:
                    raise bad(
                        f"chain[{hop.index}] {kind} token is for subject "
                        f"{token.claims.get('sub')!r}, not {subject!r}"
                    )
                if kind == "txn" and act_of(token.claims) not in (None, hop.principal.id):
                    raise bad(
                        f"chain[{hop.index}] txn token names actor {act_of(token.claims)!r}, "
                        f"not the hop's {hop.principal.id!r}"
                    )
        subject_token = verified.get("subject")
        if subject_token is not None and subject_token.claims.get("sub") != subject:
            raise bad(f"subject token is for {subject_token.claims.get('sub')!r}, not {subject!r}")
        detail = f"{len(children)} token(s) checked" if children else "no tokens in the request"
        self._pass(state, Step.TOKENS, detail, children)
        return verified, hop_tokens

    def _actor_trust(
        self,
        request: Request,
        verified: Mapping[str, VerifiedToken],
        state: _State,
        now: datetime,
    ) -> TrustResult | None:
        if not request.delegated:
            self._pass(state, Step.ACTOR_TRUST, f"{request.subject} acts for itself")
            return None
        actor = request.actor.id
        result = self.trust.assess(actor, attestation=verified.get("attestation"), now=now)
        state.touched.update(f"group/{g}" for g in result.member_of)
        if not result.trusted:
            raise self._fail(state, ReasonCode.UNTRUSTED_ACTOR, Step.ACTOR_TRUST, result.detail)
        if result.level is not None:
            state.touched.add(f"trust_level/{result.level.name}")
        self._pass(state, Step.ACTOR_TRUST, result.detail)
        return result

    def _on_behalf_of(
        self,
        request: Request,
        action: str,
        trust: TrustResult | None,
        verified: Mapping[str, VerifiedToken],
        hop_tokens: Mapping[int, Mapping[str, VerifiedToken]],
        cedar_request: Mapping[str, Any],
        context_base: Mapping[str, Any],
        entities: Any,
        state: _State,
        now: datetime,
    ) -> Grant | None:
        txn = verified.get("txn")
        previous = request.chain[-1] if request.chain else None
        if trust is None and txn is None and previous is None:
            # The hot path of plain AuthZEN requests: nothing to check in this step.
            self._pass(
                state, Step.ON_BEHALF_OF, f"{request.subject} acts for itself; no grant needed"
            )
            return None
        txn_scope = scope_of(txn.claims) if txn is not None else None

        def scope_checks(prefix: str) -> None:
            if txn_scope is not None and action not in txn_scope:
                raise self._fail(
                    state,
                    ReasonCode.INSUFFICIENT_SCOPE,
                    Step.ON_BEHALF_OF,
                    f"{prefix}{action!r} is outside the txn token's scope "
                    f"({' '.join(sorted(txn_scope)) or 'empty'})",
                )
            if previous is not None and previous.scope is not None and action not in previous.scope:
                raise self._fail(
                    state,
                    ReasonCode.INSUFFICIENT_SCOPE,
                    Step.ON_BEHALF_OF,
                    f"{prefix}{action!r} is outside the scope the previous hop "
                    f"({previous.principal.id}) passed on ({', '.join(previous.scope)})",
                )

        if trust is None:
            scope_checks("")
            self._pass(
                state, Step.ON_BEHALF_OF, f"{request.subject} acts for itself; no grant needed"
            )
            return None

        def condition(elevation: Elevation) -> tuple[bool, str]:
            probe = dict(cedar_request)
            probe["context"] = {
                **context_base,
                "ztauth": _ztauth_context(
                    request, trust, f"elevation/{elevation.id}", fields=self._condition_fields
                ),
            }
            outcome = self.cedar.condition_holds(elevation.id, probe, entities)
            if outcome.errors:
                return False, f"could not be evaluated ({'; '.join(outcome.errors)})"
            return outcome.allowed, "holds" if outcome.allowed else "is false for this request"

        actor = request.actor.id
        # The request's consent is the actor's own only when the subject gave it; in a chain
        # one signed by the last hop is that hop's link to the actor (step 5), never consent.
        own_consent = verified.get("consent")
        if own_consent is not None and own_consent.claims.get("sub") != request.subject.id:
            own_consent = None
        coverage = self.on_behalf_of.cover(
            subject=request.subject,
            actor=actor,
            trust=trust,
            action=action,
            resource=request.resource,
            consent=own_consent,
            condition=condition,
            now=now,
        )
        state.touched.update(coverage.touched)
        if coverage.grant is None and request.chain:
            origin = self._origin_coverage(request, action, hop_tokens, state, now, condition)
            if origin is not None and (origin.grant is not None or origin.stage > coverage.stage):
                coverage = origin
        if coverage.grant is None:
            assert coverage.code is not None  # noqa: S101 - no grant always carries a code
            raise self._fail(state, coverage.code, Step.ON_BEHALF_OF, coverage.detail)
        state.via = coverage.grant.via
        state.touched.add(coverage.grant.via)
        scope_checks(f"{coverage.grant.via}: ")
        self._pass(state, Step.ON_BEHALF_OF, coverage.detail)
        return coverage.grant

    def _origin_coverage(
        self,
        request: Request,
        action: str,
        hop_tokens: Mapping[int, Mapping[str, VerifiedToken]],
        state: _State,
        now: datetime,
        condition: Any,
    ) -> Coverage | None:
        """In a chain, the subject's grant may be held by the origin hop and re-delegated.

        Only the origin hop's own tokens speak for it (its attestation, the subject's consent
        to it): a token the request presents elsewhere is never borrowed. Step 5 then checks
        that every later party holds a signed link from the one before (:meth:`_chain`).
        """
        origin = request.chain[0]
        if origin.principal.id == request.subject.id:
            return None  # a loop (step 5 says so); the subject holds no grant from itself
        # Every hop token was verified in step 2 (a bad one has already denied).
        origin_tokens = hop_tokens.get(origin.index, {})
        trust = self.trust.assess(
            origin.principal.id, attestation=origin_tokens.get("attestation"), now=now
        )
        if not trust.trusted:
            return None
        coverage = self.on_behalf_of.cover(
            subject=request.subject,
            actor=origin.principal.id,
            trust=trust,
            action=action,
            resource=request.resource,
            consent=origin_tokens.get("consent"),
            condition=condition,
            now=now,
        )
        state.touched.update(coverage.touched)
        if coverage.grant is not None:
            return Coverage(
                grant=replace(coverage.grant, origin=True),
                code=None,
                detail=(f"{coverage.detail}, re-delegated along the chain to {request.actor.id}"),
                stage=coverage.stage,
                touched=coverage.touched,
            )
        return coverage

    def _chain(
        self,
        request: Request,
        action: str,
        grant: Grant | None,
        verified: Mapping[str, VerifiedToken],
        hop_tokens: Mapping[int, Mapping[str, VerifiedToken]],
        state: _State,
        now: datetime,
    ) -> None:
        """Step 5: every party of the chain holds a signed link from the party before it.

        The parties are P0 = the subject, P1 … Pn = ``chain[0]`` … ``chain[n-1]`` (hops 1 … n)
        and Pn+1 = the actor; party i presents its tokens in ``chain[i-1].tokens`` (the actor:
        in ``authorization_model.tokens``). The chain holds when all of these hold, checked in
        this order (each failure is ``chain_broken`` unless said otherwise):

        1. depth n + 1 <= ``settings.max_chain_depth``;
        2. P0 … Pn+1 are distinct workload ids, the id trust is judged on (the entity type
           plays no part): a party seen twice is a loop or a replayed hop;
        3. no token is presented twice (same issuer and claims): a token proves one hop only;
        4. for each party i = 1 … n+1:

           a. (hops) it is trusted by the current trust model: member of a group, revoked in
              none, proving that group's level with its own tokens (attestation);
           b. an attestation it presents has ``sub`` = Pi, whether or not its level needs one;
           c. link: a consent with ``sub`` = Pi-1 and ``act`` = Pi, or a txn token (``sub`` =
              the subject, checked in step 2) whose ``act`` is Pi with the nested prior actor
              ``act.act.sub`` = Pi-1 (RFC 8693 §4.1; for i = 1 no prior actor: Pi-1 is the
              subject, its ``sub``). Deeper nested actors must continue the path backwards.
              A consent at the actor signed by the subject is the actor's own (step 4), not a
              link; any other consent or txn that names the wrong parties breaks the chain;
           d. every link token has a ``scope``; party i's scope Si is the scope it claims
              (hop ``scope``), which the intersection of its link tokens' scopes (and of a
              txn token's it presents that is not a link) must contain, or that
              intersection when it claims none;
           e. Si ⊆ Si-1 (S0: the actions of a grant re-delegated from the origin hop; none
              otherwise): scopes only narrow hop by hop;

        5. the action is in Sn+1 (``insufficient_scope`` otherwise), hence in every Si;
        6. a grant re-delegated from the origin hop allows at least n further hops
           (its ``max_depth``).

        Without a chain, a txn token naming a prior actor breaks it: the request hides the
        hops that token says the call came through.
        """
        txn = verified.get("txn")
        if not request.chain:
            actors = actor_chain(txn.claims) if txn is not None else ()
            if actors is None or len(actors) > 1:
                named = "a malformed act claim" if actors is None else repr(actors[1])
                raise self._fail(
                    state,
                    ReasonCode.CHAIN_BROKEN,
                    Step.CHAIN,
                    f"the txn token names {named} as the prior actor, "
                    "but the request lists no such hop (authorization_model.chain)",
                )
            return
        children: list[TraceStep] = []

        def broken(detail: str, code: ReasonCode = ReasonCode.CHAIN_BROKEN) -> _Denied:
            children.append(TraceStep(step=Step.CHAIN, passed=False, detail=detail))
            return self._fail(state, code, Step.CHAIN, detail, children)

        n = len(request.chain)
        subject = request.subject.id
        parties = [subject, *(h.principal.id for h in request.chain), request.actor.id]

        def name(i: int) -> str:
            if i == 0:
                return f"the subject ({subject})"
            return f"hop {i} ({parties[i]})" if i <= n else f"the actor ({parties[i]})"

        def tokens_at(i: int) -> Mapping[str, VerifiedToken]:
            return hop_tokens.get(i - 1, {}) if i <= n else verified

        def label(i: int, kind: str) -> str:
            return f"chain[{i - 1}] {kind} token" if i <= n else f"{kind} token"

        depth = n + 1
        if depth > self.max_chain_depth:
            raise broken(
                f"chain depth {depth} exceeds settings.max_chain_depth {self.max_chain_depth}"
            )
        # Trust is judged on the workload id alone, so identity is the id: a party that
        # reappears under another entity type is still a loop (or a replayed hop).
        seen: dict[str, int] = {}
        for i, party in enumerate(parties):
            if party in seen:
                raise broken(
                    f"{party!r} appears as {name(seen[party])} and again as {name(i)}; "
                    "a chain may not loop"
                )
            seen[party] = i
        # A token proves one position: the same token (same issuer and claims, however it is
        # encoded or re-signed) presented twice is a copy, whatever the positions' bindings.
        presented: dict[str, str] = {}
        for i in range(1, n + 2):
            for kind, token in tokens_at(i).items():
                identity = _token_identity(token)
                if identity in presented:
                    raise broken(
                        f"{label(i, kind)} is the {presented[identity]} again; "
                        "a token proves one hop only"
                    )
                presented[identity] = label(i, kind)

        received: frozenset[str] | None = (
            frozenset(grant.actions) if grant is not None and grant.origin else None
        )
        for i in range(1, n + 2):
            hop = request.chain[i - 1] if i <= n else None
            party, previous, where = parties[i], parties[i - 1], name(i)
            tokens = tokens_at(i)
            trusted = ""
            if hop is not None:
                # Re-check against the CURRENT trust model: a hop revoked or demoted since the
                # call started breaks the whole chain. Only the hop's own tokens prove it.
                result = self.trust.assess(party, attestation=tokens.get("attestation"), now=now)
                state.touched.update(f"group/{g}" for g in result.member_of)
                if not result.trusted:
                    children.append(
                        TraceStep(step=Step.CHAIN, passed=False, detail=f"{where}: {result.detail}")
                    )
                    raise self._fail(
                        state,
                        ReasonCode.CHAIN_BROKEN,
                        Step.CHAIN,
                        f"{where} is no longer trusted: {result.detail}",
                        children,
                    )
                if result.level is not None:
                    state.touched.add(f"trust_level/{result.level.name}")
                    trusted = f"trusted at {result.level.name!r}, "
            attestation = tokens.get("attestation")
            if attestation is not None and attestation.claims.get("sub") != party:
                raise broken(
                    f"{where} presents an attestation about {attestation.claims.get('sub')!r}; "
                    "an attestation proves only its own workload"
                )
            links, bounds = self._links(i, parties, tokens, where=where, broken=broken)
            if not links:
                if i == 1:
                    needed = f"no consent or txn token from {previous!r} whose act is {party!r}"
                else:
                    needed = (
                        f"neither a consent with sub {previous!r} and act {party!r} nor a txn "
                        f"token whose act names {previous!r} as the prior actor of {party!r}"
                    )
                raise broken(
                    f"{where} is not linked to {name(i - 1)}: it presents {needed}; "
                    "without a signed link a hop carries no authority"
                )
            granted: frozenset[str] | None = None
            for kind, token in bounds:
                scope = scope_of(token.claims)
                if scope is None:
                    if (kind, token) in links:
                        raise broken(f"{where}: its {kind} token has no 'scope' claim")
                    continue
                granted = scope if granted is None else granted & scope
            assert granted is not None  # noqa: S101 - every link token has a scope (above)
            kinds = " and ".join(sorted({kind for kind, _ in bounds}))
            if hop is not None and hop.scope is not None:
                beyond = sorted(set(hop.scope) - granted)
                if beyond:
                    raise broken(
                        f"{where} claims {', '.join(beyond)}, which its {kinds} token does not "
                        f"grant ({', '.join(sorted(granted)) or 'nothing'}); "
                        "a claimed scope needs a signed token"
                    )
                scope = frozenset(hop.scope)
            else:
                scope = granted
            if received is not None:
                wider = sorted(scope - received)
                if wider:
                    raise broken(
                        f"{where} widens the scope it received with {', '.join(wider)}; "
                        "scopes may only narrow hop by hop"
                    )
            received = scope
            children.append(
                TraceStep(
                    step=Step.CHAIN,
                    passed=True,
                    detail=(
                        f"{where}: {trusted}linked from {name(i - 1)} by "
                        f"{' and '.join(k for k, _ in links)}, scope "
                        f"{', '.join(sorted(scope)) or 'empty'}"
                    ),
                )
            )
        assert received is not None  # noqa: S101 - the loop ran at least once (n >= 1)
        if action not in received:
            raise broken(
                f"{action!r} is outside the scope {name(n)} passed on to {name(n + 1)} "
                f"({', '.join(sorted(received)) or 'empty'})",
                ReasonCode.INSUFFICIENT_SCOPE,
            )
        if grant is not None and grant.origin and n > grant.max_depth:
            raise broken(
                f"{grant.via} allows {grant.max_depth} further hop(s) after its delegate; "
                f"this chain has {n}"
            )
        self._pass(
            state,
            Step.CHAIN,
            f"{n} earlier hop(s) re-checked, every party linked by a signed token; "
            f"depth {depth} <= {self.max_chain_depth}",
            children,
        )

    @staticmethod
    def _links(
        i: int,
        parties: Sequence[str],
        tokens: Mapping[str, VerifiedToken],
        *,
        where: str,
        broken: Callable[[str], _Denied],
    ) -> tuple[list[tuple[str, VerifiedToken]], list[tuple[str, VerifiedToken]]]:
        """Party ``i``'s link tokens from party ``i - 1`` (rule 4c of :meth:`_chain`), and the
        tokens whose scope bounds it (its links, and a txn token that names no prior actor).

        Raises:
            _Denied: (through ``broken``) a consent or txn token that names other parties.
        """
        party, previous = parties[i], parties[i - 1]
        actor = i == len(parties) - 1
        links: list[tuple[str, VerifiedToken]] = []
        bounds: list[tuple[str, VerifiedToken]] = []
        consent = tokens.get("consent")
        if consent is not None and not (actor and consent.claims.get("sub") == parties[0]):
            delegator, delegate = consent.claims.get("sub"), act_of(consent.claims)
            if delegator != previous:
                raise broken(
                    f"{where}: its consent was given by {delegator!r}, not by {previous!r} "
                    "(the party before it)"
                )
            if delegate != party:
                raise broken(f"{where}: its consent from {previous!r} was given to {delegate!r}")
            links.append(("consent", consent))
            bounds.append(("consent", consent))
        txn = tokens.get("txn")
        if txn is not None:
            actors = actor_chain(txn.claims)
            if actors is None:
                raise broken(f"{where}: its txn token's act claim is malformed")
            # The path backwards from this party: Pi, Pi-1, …, P1 (the subject is ``sub``).
            path = [parties[j] for j in range(i, 0, -1)]
            if actors and actors[0] != party:
                raise broken(f"{where}: its txn token names actor {actors[0]!r}")
            for j, named in enumerate(actors[1:], start=1):
                if j >= len(path):
                    raise broken(
                        f"{where}: its txn token names {named!r} as a prior actor, "
                        "but the request lists no such hop"
                    )
                if named != path[j]:
                    back = "the prior actor" if j == 1 else f"the actor {j} hops back"
                    raise broken(
                        f"{where}: its txn token names {named!r} as {back}, not {path[j]!r}"
                    )
            if actors and (len(actors) >= 2 or i == 1):
                links.append(("txn", txn))
            bounds.append(("txn", txn))
        return links, bounds

    # ------------------------------------------------------------------------- step 6

    def _finish(self, state: _State, outcome: CedarOutcome) -> Decision:
        # Cedar's answers repeat (the engine shares one outcome object per distinct answer):
        # what step 6 makes of one is worked out once. Keyed by identity, with the outcome
        # held in the entry so that its id cannot be reused by another object meanwhile.
        known = self._verdicts.get(id(outcome))
        if known is None or known[0] is not outcome:
            if len(self._verdicts) >= _VERDICTS:
                self._verdicts.clear()
            known = self._verdicts[id(outcome)] = (outcome, *self._verdict(outcome))
        _, code, step, policies, touched = known
        state.touched.update(touched)
        state.trace.append(step)
        return self._decision(code=code, message=step.detail, state=state, policies=policies)

    def _verdict(
        self, outcome: CedarOutcome
    ) -> tuple[ReasonCode, TraceStep, tuple[str, ...], tuple[str, ...]]:
        """Step 6 for one Cedar outcome: the code, the trace step (whose detail is the
        decision's message), the policies reported and the policies touched."""
        policies = outcome.determining
        touched = tuple(f"policy/{p}" for p in policies)
        if outcome.request_error is not None:
            detail = f"Cedar rejected the request: {outcome.request_error}"
            step = TraceStep(step=Step.POLICY, passed=False, detail=detail)
            return ReasonCode.INVALID_REQUEST, step, (), touched
        if outcome.errored_forbids:
            detail = (
                f"forbid policy {', '.join(outcome.errored_forbids)} failed to evaluate "
                f"({'; '.join(outcome.errors)}); denied (fail closed)"
            )
            step = TraceStep(step=Step.POLICY, passed=False, detail=detail)
            return ReasonCode.EVALUATION_ERROR, step, policies, touched
        errors = f" (skipped on error: {'; '.join(outcome.errors)})" if outcome.errors else ""
        if outcome.allowed:
            detail = f"permitted by {', '.join(policies)}{errors}"
            step = TraceStep(step=Step.POLICY, passed=True, detail=detail)
            return ReasonCode.ALLOWED, step, policies, touched
        effects = {self.cedar.effects.get(p) for p in policies}
        if policies and "forbid" in effects:
            detail = f"forbidden by {', '.join(policies)}{errors}"
        else:
            detail = f"no policy permits this request{errors}"
        step = TraceStep(step=Step.POLICY, passed=False, detail=detail)
        return ReasonCode.POLICY_DENIED, step, policies, touched


def _text(value: Any) -> TypeGuard[str]:
    return type(value) is str and bool(value)


def _token_identity(token: VerifiedToken) -> str:
    """What makes two presented tokens the same token: issuer and claims, not the compact
    string (an ECDSA signature can be re-encoded, a JWS re-serialised, with the same claims).
    """
    return json.dumps([token.issuer, token.claims], sort_keys=True, default=str)


def _cedar_context(context: Mapping[str, Any], notes: list[str]) -> dict[str, Any]:
    """The request's context as Cedar's: plain JSON values only (see engine/entities.py),
    without ``ztauth``, which the engine owns.
    """
    if "ztauth" in context:
        notes.append(
            "context.ztauth is the engine's (the ZTAuth* facts); the request's value is ignored"
        )
        context = {k: v for k, v in context.items() if k != "ztauth"}
    return cedar_record(context, "context", notes)


def _note_steps(notes: Sequence[str]) -> tuple[TraceStep, ...]:
    return tuple(TraceStep(step=Step.REQUEST, passed=True, detail=n) for n in sorted(notes))


def _ztauth_context(
    request: Request, trust: TrustResult | None, via: str | None, *, fields: Sequence[str]
) -> dict[str, Any]:
    """``context.ztauth`` as Cedar policies see it (documented in docs/readme/30-eval.md),
    restricted to ``fields``. Cedar has no null: absent values are "", [] or 0.
    """
    level = trust.level if trust is not None else None
    full: dict[str, Any] = {
        "actor": request.actor.id,
        "actor_type": request.actor.type,
        "delegated": request.delegated,
        "trust_level": level.name if level is not None else "",
        "trust_rank": level.rank if level is not None else 0,
        "groups": list(trust.groups) if trust is not None else [],
        "via": via or "",
        "chain": [hop.principal.id for hop in request.chain],
        "depth": len(request.chain) + 1,
    }
    return {f: full[f] for f in fields}


def _parsed_policies(ledger: Ledger) -> tuple[CedarPolicy, ...]:
    """Every policy of ``ledger`` parsed alone by Cedar.

    Raises:
        DocumentError: the first policy Cedar rejects, at its statement.
    """
    policies, errors = parse_policy_files(ledger.policy_files)
    if errors:
        raise errors[0]
    return policies


def _issuer_span(ledger: Ledger, name: str) -> Span | None:
    issuer = ledger.issuer(name)
    return issuer.span if issuer is not None else None
