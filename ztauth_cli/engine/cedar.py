"""The Cedar bridge: the only module that imports cedarpy (STYLE.md rule 4).

cedarpy reports parse errors without positions, so policy files are split statement by
statement here (a small tokenizer aware of strings and ``//`` comments), a statement that runs
two policies together (a missing ``;``) is cut between them, and every policy is parsed on its
own: :mod:`ztauth_cli.engine.cedar_syntax` then points an error at the token Cedar rejected.

The evaluator side (:class:`CedarEngine`) parses the policy set, the entities and the elevation
conditions ONCE per ledger and reuses the handles. Policies are re-keyed by their ``@id``
annotation (``policies_to_json_str`` -> ``staticPolicies`` keyed by ``@id`` ->
``PolicySet.from_json_str``) so that Cedar itself reports determining policies by ``@id``.
"""

from __future__ import annotations

import functools
import itertools
import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import field
from typing import Any

from ztauth_cli.engine.entities import referenced_uids
from ztauth_cli.engine.request import is_action_type
from ztauth_cli.errors import DocumentError
from ztauth_cli.model.documents import PolicyFile
from ztauth_cli.model.record import record
from ztauth_cli.model.span import Span

__all__ = [
    "CedarEngine",
    "CedarOutcome",
    "CedarPolicy",
    "check_schema",
    "engine_policies",
    "format_cedar",
    "parse_policy_files",
    "policies_by_key",
    "policy_json",
    "split_statements",
    "validate_against_schema",
]

_BACKTICK = re.compile(r"`([^`]+)`")
_POLICY_IN_ERROR = re.compile(r"policy `([^`]*)`")
# A policy as Cedar names it in an error, by its number in the policy set.
_POSITIONAL_IN_ERROR = re.compile(r"policy `(policy[0-9]+)`")
_WORD = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
# What splitting policy text into statements looks at, blanks skipped: a `//` comment (to the
# end of its line), a string (escapes skipped; unterminated: to the end), a `;`, a run of
# other text (from a non-blank, up to the next `/`, `"` or `;`), a lone `/`.
_PARTS = re.compile(r'//[^\n]*\n?|"[^"\\]*(?:\\.[^"\\]*)*"?|;|[^\s/";][^/";]*|/', re.DOTALL)
# The end of one answer of Cedar's batch call: its metrics (name/number pairs), nothing after.
_METRICS_TAIL = re.compile(r',"metrics":\{(?:"[a-z_]+":[0-9]+(?:,"[a-z_]+":[0-9]+)*)?\}\}')
# Distinct Cedar answers remembered per engine (see CedarEngine._answer).
_ANSWERS = 1024


@record(frozen=True, slots=True, kw_only=True)
class CedarPolicy:
    """One Cedar policy of a ledger: its ``@id``, effect, source text and position."""

    id: str | None
    effect: str
    span: Span
    text: str
    file: str
    # Cedar's JSON form of ``text`` as the parser returned it (None: not parsed yet), kept so
    # that lint rules, diff and the engine never parse one statement twice.
    cedar_json: str | None = field(default=None, repr=False, compare=False)


@record(frozen=True, slots=True, kw_only=True)
class _Statement:
    text: str
    offset: int
    line: int
    column: int


def _position(text: str, offset: int) -> tuple[int, int]:
    line = text.count("\n", 0, offset) + 1
    column = offset - (text.rfind("\n", 0, offset) + 1) + 1
    return line, column


def split_statements(text: str) -> list[tuple[str, int, int]]:
    """Split Cedar policy text into statements ``(text, line, column)``.

    A statement ends at a top-level ``;`` (outside strings and ``//`` comments); it starts at
    its first character that is neither blank nor comment (its annotations included). Trailing
    text without ``;`` is returned as a last statement so that Cedar reports it.
    """
    return [(s.text, s.line, s.column) for s in _split(text)]


def _split(text: str) -> list[_Statement]:
    statements: list[_Statement] = []
    start: int | None = None
    # Lines are counted from the previous statement, not from the file start each time.
    counted, line = 0, 1

    def position(offset: int) -> tuple[int, int]:
        nonlocal counted, line
        line += text.count("\n", counted, offset)
        counted = offset
        return line, offset - (text.rfind("\n", 0, offset) + 1) + 1

    for part in _PARTS.finditer(text):
        if part.group().startswith("//"):
            continue
        if start is None:
            start = part.start()
        if part.group() == ";":
            at_line, column = position(start)
            statements.append(
                _Statement(text=text[start : part.end()], offset=start, line=at_line, column=column)
            )
            start = None
    if start is not None:
        at_line, column = position(start)
        statements.append(_Statement(text=text[start:], offset=start, line=at_line, column=column))
    return statements


@functools.lru_cache(maxsize=4096)
def _statement_json(text: str) -> str:
    return _cedar_json(text)


def _cedar_json(text: str) -> str:
    import cedarpy

    result: str = cedarpy.policies_to_json_str(text)
    return result


def _single_policy(text: str) -> tuple[str, dict[str, Any]]:
    """Parse one statement: ``(kind, est)``; kind is ``static`` or ``template``.

    Raises:
        ValueError: Cedar's parse error, or when the text holds no policy or several.
    """
    return _one_policy(_statement_json(text))


def _parsed_policy(policy: CedarPolicy) -> tuple[str, dict[str, Any]]:
    """``(kind, est)`` of a policy, from the JSON kept when it was parsed if there is one.

    Raises:
        ValueError: as :func:`_single_policy`.
    """
    if policy.cedar_json is not None:
        return _one_policy(policy.cedar_json)
    return _single_policy(policy.text)


def _one_policy(cedar_json: str) -> tuple[str, dict[str, Any]]:
    data = json.loads(cedar_json)
    static = data.get("staticPolicies") or {}
    templates = data.get("templates") or {}
    items = [("static", p) for p in static.values()] + [("template", p) for p in templates.values()]
    if len(items) != 1:
        raise ValueError(f"expected exactly one policy, found {len(items)}")
    return items[0]


def _file_forms(text: str, statements: int) -> list[str] | None:
    """Each statement's Cedar JSON from ONE parse of the whole file (Cedar's cost is per call
    as much as per policy), or None when the file does not parse as exactly ``statements``
    policies: each statement is then parsed alone, so that an error names its statement.
    """
    if not statements:
        return None
    try:
        data = json.loads(_cedar_json(text))  # not cached: a whole file, parsed once per load
    except ValueError:
        return None
    # Cedar numbers the policies of a text policy0, policy1, ... in order, static policies and
    # templates alike; a file that parses holds one policy per top-level ';'.
    forms: list[str] = []
    for number in range(statements):
        key = f"policy{number}"
        for section in ("staticPolicies", "templates"):
            est = (data.get(section) or {}).get(key)
            if est is not None:
                forms.append(json.dumps({section: {key: est}}))
                break
        else:
            return None
    found = len(data.get("staticPolicies") or {}) + len(data.get("templates") or {})
    return forms if found == statements else None


def parse_policy_files(
    files: Sequence[PolicyFile],
) -> tuple[tuple[CedarPolicy, ...], tuple[DocumentError, ...]]:
    """Split every ``.cedar`` file into policies and parse each one with Cedar.

    Never raises for bad policy text: each statement Cedar rejects becomes a
    :class:`DocumentError` at the statement's first line and column.
    """
    policies: list[CedarPolicy] = []
    errors: list[DocumentError] = []
    for policy_file in files:
        found, problems = _parse_text(policy_file.text, policy_file.span.path)
        policies.extend(found)
        errors.extend(problems)
    return tuple(policies), tuple(errors)


# The head of a policy, read without Cedar: blanks and `//` comments, then annotations
# (`@name` with an optional plain string, no escapes), then the effect.
_GAP = r"(?:\s+|//[^\n]*)*"
_HEAD_GAP = re.compile(_GAP)
_ANNOTATION = re.compile(rf'@([A-Za-z_][A-Za-z0-9_]*)(?:{_GAP}\({_GAP}"([^"\\]*)"{_GAP}\))?')
_EFFECT = re.compile(r"(permit|forbid)(?![A-Za-z0-9_])")


def _head(text: str) -> tuple[str | None, str] | None:
    """``(@id, effect)`` of one policy read from its head, or None when only Cedar can say
    (an annotation with an escape or without a value, anything else unusual)."""
    at, policy_id, seen = 0, None, set()
    while True:
        gap = _HEAD_GAP.match(text, at)  # matches always, if only the empty string
        at = gap.end() if gap is not None else at
        annotation = _ANNOTATION.match(text, at)
        if annotation is None:
            break
        if annotation[1] in seen:  # Cedar refuses it: let it say so
            return None
        seen.add(annotation[1])
        if annotation[1] == "id":
            if annotation[2] is None:
                return None
            policy_id = annotation[2]
        at = annotation.end()
    effect = _EFFECT.match(text, at)
    return (policy_id, effect[1]) if effect is not None else None


def engine_policies(files: Sequence[PolicyFile]) -> tuple[CedarPolicy, ...] | None:
    """The policies of ``files`` for evaluation, read without Cedar's JSON form of each (the
    dearest part of parsing): statements split here, ``@id`` and effect from each head.

    None when a statement does not end with its ``;`` or has a head only Cedar can read: the
    caller then takes :func:`parse_policy_files` (every policy parsed, errors at their
    statement). Cedar still parses the whole text once (:class:`CedarEngine`), and refuses it
    unless it holds exactly these policies, in this order.
    """
    policies: list[CedarPolicy] = []
    for policy_file in files:
        path = policy_file.span.path
        for statement in _split(policy_file.text):
            head = _head(statement.text) if statement.text.endswith(";") else None
            if head is None:
                return None
            policies.append(
                CedarPolicy(
                    id=head[0],
                    effect=head[1],
                    span=Span(path=path, line=statement.line, column=statement.column),
                    text=statement.text,
                    file=path,
                )
            )
    return tuple(policies)


def _parse_error(text: str) -> str | None:
    """Cedar's message for ``text``, or None when it parses."""
    try:
        _statement_json(text)
    except ValueError as exc:
        return str(exc)
    return None


def _pieces(text: str) -> list[_Statement]:
    """The statements of ``text``, each cut where a missing ``;`` ran two policies together."""
    from ztauth_cli.engine.cedar_syntax import split_policies

    pieces: list[_Statement] = []
    for statement in _split(text):
        bounds = [0, *split_policies(statement.text), len(statement.text)]
        for start, end in itertools.pairwise(bounds):
            offset = statement.offset + start
            line, column = _position(text, offset)
            piece = statement.text[start:end].rstrip()
            pieces.append(_Statement(text=piece, offset=offset, line=line, column=column))
    return pieces


def _parse_text(text: str, path: str) -> tuple[list[CedarPolicy], list[DocumentError]]:
    """The policies of one ``.cedar`` file and an error for each statement Cedar rejects."""
    policies: list[CedarPolicy] = []
    errors: list[DocumentError] = []
    # Usually the whole file parses: one Cedar call for all its policies (Cedar's cost is per
    # call as much as per policy). Otherwise each statement alone, so errors name their place.
    pieces = _split(text)
    whole = _file_forms(text, len(pieces))
    if whole is None:
        # Cedar accepts a file only with every policy ended by its ';': a file that parses as
        # one policy per statement has no statement running two policies together. The others
        # are cut where a ';' is missing (tokenizing every statement, only for them).
        statements = len(pieces)
        pieces = _pieces(text)
        if len(pieces) != statements:
            whole = _file_forms(text, len(pieces))
    for index, statement in enumerate(pieces):
        terminated = statement.text.endswith(";")
        cedar_json: str | None = whole[index] if whole is not None else None
        message: str | None = None
        if cedar_json is None:
            source = statement.text if terminated else statement.text + ";"
            try:
                cedar_json = _statement_json(source)
            except ValueError as exc:
                message = str(exc)
        if message is None and terminated and cedar_json is not None:
            try:
                _kind, est = _one_policy(cedar_json)
            except ValueError as exc:  # parses, but is not exactly one policy
                span = Span(path=path, line=statement.line, column=statement.column)
                errors.append(DocumentError(f"Cedar syntax error: {exc}", span=span))
                continue
            annotations = est.get("annotations") or {}
            raw_id = annotations.get("id")
            policies.append(
                CedarPolicy(
                    id=raw_id if isinstance(raw_id, str) else None,
                    effect=str(est.get("effect", "")),
                    span=Span(path=path, line=statement.line, column=statement.column),
                    text=statement.text,
                    file=path,
                    cedar_json=cedar_json,
                )
            )
            continue
        from ztauth_cli.engine.cedar_syntax import diagnose, tokenize

        following = pieces[index + 1] if index + 1 < len(pieces) else None
        before = f", before the policy at line {following.line}" if following else ""
        hint: str | None
        if message is None:
            # It parses once ended: the ';' itself is missing, right after its last token.
            last = tokenize(statement.text)[-1]
            at, why, hint = (
                last.end,
                "missing ';' at the end of the policy",
                f"add ';' here{before}",
            )
        else:
            problem = diagnose(source, message, parse=_parse_error)
            at, why, hint = min(problem.offset, len(statement.text)), problem.message, problem.hint
            if not terminated:
                also = f"end the policy with ';'{before}"
                hint = f"{hint}; then {also}" if hint else also
        line, column = _position(text, statement.offset + at)
        errors.append(
            DocumentError(
                f"Cedar syntax error: {why}",
                span=Span(path=path, line=line, column=column),
                hint=hint,
            )
        )
    return policies, errors


def policy_json(policy: CedarPolicy) -> dict[str, Any]:
    """The Cedar JSON (EST) form of one policy: effect, principal/action/resource, conditions.

    Raises:
        DocumentError: when the policy text does not parse (at the policy's span).
    """
    try:
        _kind, est = _parsed_policy(policy)
    except ValueError as exc:
        raise DocumentError(f"Cedar syntax error: {exc}", span=policy.span) from exc
    return est


def _locate(text: str, message: str, path: str) -> Span:
    """Best-effort position of an error Cedar reported without one: its first named token."""
    candidates = _BACKTICK.findall(message)
    if ":" in message:
        tail = message.rsplit(":", 1)[1]
        candidates += [c.strip() for c in tail.split(",") if c.strip()]
    for token in candidates:
        match = re.search(rf"(?<![\w:]){re.escape(token)}(?!\w)", text)
        if match is not None:
            line, column = _position(text, match.start())
            return Span(path=path, line=line, column=column)
    if "end of input" in message:
        line, column = _position(text, len(text.rstrip()))
        return Span(path=path, line=line, column=column)
    return Span(path=path)


def _parse_schema(schema_text: str, schema_path: str) -> Any:
    import cedarpy

    if schema_path.endswith(".json"):
        return cedarpy.Schema.from_json_str(schema_text)
    return cedarpy.Schema.from_str(schema_text)


def check_schema(schema_text: str, *, schema_path: str) -> DocumentError | None:
    """Parse the Cedar schema (human syntax, or JSON when the path ends in ``.json``).

    Returns the problem as a :class:`DocumentError`, or ``None`` when the schema is valid.
    """
    return _schema(schema_text, schema_path)[1]


def _schema(schema_text: str, schema_path: str) -> tuple[Any, DocumentError | None]:
    """The parsed schema and None, or None and the problem (parsed once: it is not cheap)."""
    try:
        return _parse_schema(schema_text, schema_path), None
    except ValueError as exc:
        message = str(exc)
        return None, DocumentError(
            f"Cedar schema error: {message}", span=_locate(schema_text, message, schema_path)
        )


def validate_against_schema(
    policies: Sequence[CedarPolicy], schema_text: str, *, schema_path: str
) -> tuple[DocumentError, ...]:
    """Validate the policies against the Cedar schema (``cedarpy.validate_policies``).

    Each error is reported at the span of the policy it concerns; an unusable schema is one
    error at the schema file.
    """
    import cedarpy

    if not policies:
        return ()
    schema, problem = _schema(schema_text, schema_path)
    if problem is not None:
        return (problem,)
    # The policies are validated as one text in their order, so Cedar's positional ids
    # (policy0, policy1...) index straight into ``policies`` (robust even without @id).
    text = "\n".join(p.text for p in policies)
    try:
        result = cedarpy.validate_policies(text, schema)
    except ValueError as exc:
        return (DocumentError(f"Cedar validation failed: {exc}", span=policies[0].span),)
    errors: list[DocumentError] = []
    for error in result.errors:
        policy_id = error.policy_id
        span = Span(path=schema_path)
        if policy_id.startswith("policy") and policy_id[6:].isdigit():
            index = int(policy_id[6:])
            if index < len(policies):
                span = policies[index].span
        message = error.error
        # Cedar names the positional id; the user knows the policy by its @id.
        if policy_id and span.path != schema_path:
            known = policies[int(policy_id[6:])].id
            if known is not None:
                message = message.replace(f"`{policy_id}`", f"`{known}`")
        errors.append(DocumentError(f"Cedar validation: {message}", span=span))
    errors.sort(key=lambda e: (e.span.path, e.span.line, e.span.column) if e.span else ("", 0, 0))
    return tuple(errors)


def format_cedar(text: str) -> str:
    """Format Cedar policy text the Cedar way (``cedarpy.format_policies``).

    Raises:
        DocumentError: when the text does not parse (at the first statement Cedar rejects).
    """
    import cedarpy

    try:
        result: str = cedarpy.format_policies(text)
    except ValueError as exc:
        _, errors = _parse_text(text, "<policy>")
        if errors:
            raise errors[0] from exc
        raise DocumentError(f"Cedar syntax error: {exc}", span=Span(path="<policy>")) from exc
    return result


# ----------------------------------------------------------------------------- evaluation


def _no_default(value: Any) -> Any:
    raise TypeError(f"Object of type {value.__class__.__name__} is not JSON serializable")


def _json_text(value: Any) -> str:
    """``json.dumps(value)`` with the default settings, character for character, without
    json.dumps's per-call set-up: its C encoder, made once, is called directly.

    The encoder keeps no circular-reference markers (json.dumps's check): what it encodes is
    a context the engine has just built (plain JSON values, see engine/entities.py), never a
    structure that contains itself, and an encoder without markers holds no state between
    calls.
    """
    if _ENCODE is None:  # pragma: no cover - CPython always has the C encoder
        return json.dumps(value)
    return "".join(_ENCODE(value, 0))


_MAKE_ENCODER = getattr(json.encoder, "c_make_encoder", None)
# json.dumps's defaults: ASCII output, ": " and ", ", no sorting, NaN allowed.
_ENCODE: Any = (
    _MAKE_ENCODER(
        None,  # markers
        _no_default,
        json.encoder.encode_basestring_ascii,
        None,  # indent
        ": ",
        ", ",
        False,  # sort_keys
        False,  # skipkeys
        True,  # allow_nan
    )
    if _MAKE_ENCODER is not None
    else None
)


def _raw_batch() -> Any:
    """cedarpy's own batch call under its Python wrapper (requests in, answers as JSON text
    out), or None when this cedarpy has none: the wrapper is used then."""
    import cedarpy

    return getattr(getattr(cedarpy, "_internal", None), "is_authorized_batch", None)


def _wire(request: Mapping[str, Any]) -> dict[str, Any]:
    """A request as cedarpy's ``is_authorized_batch`` hands it to Cedar: a dict context as
    its JSON text, a None context left out."""
    wired = dict(request)
    if "context" in wired:
        context = wired["context"]
        if isinstance(context, dict):
            wired["context"] = _json_text(context)
        elif context is None:
            del wired["context"]
    return wired


@record(frozen=True, slots=True, kw_only=True)
class CedarOutcome:
    """One Cedar answer, translated: never trusted blindly (see ``errored_forbids``)."""

    allowed: bool
    determining: tuple[str, ...]
    errors: tuple[str, ...]
    # Policies Cedar skipped because their evaluation errored and that are (or may be)
    # forbids: Cedar ignores an erroring policy, so a broken forbid would let a permit through.
    errored_forbids: tuple[str, ...]
    request_error: str | None


def policy_key(policy: CedarPolicy) -> str:
    """The id Cedar reports a policy by: its ``@id``, else ``<file>:<line>``."""
    return policy.id if policy.id else f"{policy.file}:{policy.span.line}"


def policies_by_key(policies: Sequence[CedarPolicy]) -> dict[str, CedarPolicy]:
    """The policies keyed by :func:`policy_key` (their ``@id``), in order.

    Raises:
        DocumentError: two policies with the same key, at the second one.
    """
    out: dict[str, CedarPolicy] = {}
    for policy in policies:
        key = policy_key(policy)
        if key in out:
            raise DocumentError(
                f"duplicate policy @id {key!r} (first defined at {out[key].span})",
                span=policy.span,
            )
        out[key] = policy
    return out


class CedarEngine:
    """Policy set, base entities and elevation conditions of one ledger, parsed once.

    Raises (constructor):
        DocumentError: unusable policies, duplicate ``@id``, bad entities or conditions.
    """

    def __init__(
        self,
        policies: Sequence[CedarPolicy],
        entities: Sequence[Mapping[str, Any]],
        *,
        conditions: Mapping[str, tuple[str, Span]] | None = None,
        entities_span: Span | None = None,
        schema: tuple[str, str] | None = None,
    ) -> None:
        import cedarpy

        # The ledger's Cedar schema ``(text, path)``: when given, Cedar validates every request
        # (principal/resource types for the action, the context's shape) and the entities
        # (those of the ledger once, those a request describes with the request), and adds the
        # schema's action entities (action groups) to the entity store.
        self.schema: Any = None
        self.schema_text = ""
        if schema is not None:
            self.schema_text, schema_path = schema
            self.schema, problem = _schema(self.schema_text, schema_path)
            if problem is not None:
                raise problem
        self._no_policies = cedarpy.PolicySet.from_str("")
        self._answers: dict[str, CedarOutcome] = {}

        # The action scopes of the policies that mention ztauth (see may_read_ztauth).
        self._ztauth_scopes: list[Mapping[str, Any]] = []
        self.effects: dict[str, str] = {}
        keyed = policies_by_key(policies)
        for key, policy in keyed.items():
            self.effects[key] = policy.effect
            if "ztauth" in _WORD.findall(policy.text):
                self._ztauth_scopes.append(policy_json(policy).get("action") or {})
        # Every identifier-like word of the policies and conditions. Cedar cannot reach an
        # attribute by a computed name, so an attribute whose name never appears here cannot
        # be read by any policy: the engine leaves such context attributes out (each context
        # attribute costs Cedar time on every request).
        texts = [p.text for p in policies] + [c for c, _ in (conditions or {}).values()]
        self.identifiers = frozenset(w for text in texts for w in _WORD.findall(text))
        # One parse of the policies' text, in order: Cedar numbers them policy0, policy1, ...
        # and each number is translated back to the policy's key (its @id) in its answers.
        # Every policy is exactly one statement ended by its ';', so the count must match; if
        # it ever did not, no answer could be pinned to a policy: refused.
        self._keys = {f"policy{index}": key for index, key in enumerate(keyed)}
        self._cedar_effects: dict[str, str] | None = None  # see _effect_read_by_cedar
        try:
            self.policy_set = cedarpy.PolicySet.from_str("\n".join(p.text for p in policies))
        except ValueError as exc:
            raise DocumentError(f"Cedar rejected the policy set: {exc}") from exc
        # len() counts the static policies; unlinked templates (which authorize nothing) are
        # numbered among them all the same.
        read = len(self.policy_set)
        if read != len(policies):
            read += len(self.policy_set.templates())
        if read != len(policies):
            raise DocumentError(
                f"Cedar read {read} policies where the ledger has {len(policies)}: refused, "
                "as no decision could be explained"
            )

        self.base_entities: dict[tuple[str, str], dict[str, Any]] = {}
        for entity in entities:
            uid = entity["uid"]
            self.base_entities[(str(uid["type"]), str(uid["id"]))] = dict(entity)
        try:
            self.entities = cedarpy.Entities.from_json_str(
                json.dumps(list(self.base_entities.values())), schema=self.schema
            )
        except ValueError as exc:
            against = " (validated against the schema)" if self.schema is not None else ""
            raise DocumentError(
                f"Cedar rejected the ledger's entities{against}: {exc}", span=entities_span
            ) from exc
        # Uids the ledger defines or names (parents, entity-valued attributes): a request
        # describing one of them would change the ledger's facts (see defines). Collected on
        # the first request that describes entities: most requests describe none.
        self._ledger_uids: frozenset[tuple[str, str]] | None = None

        self.conditions: dict[str, Any] = {}
        for name, (condition, span) in (conditions or {}).items():
            text = f'@id("{name}")\npermit (principal, action, resource) when {{ {condition} }};'
            try:
                self.conditions[name] = cedarpy.PolicySet.from_str(text)
            except ValueError as exc:
                raise DocumentError(
                    f"elevation condition is not a valid Cedar expression: {exc}", span=span
                ) from exc

    def defines(self, key: tuple[str, str]) -> bool:
        """Whether the ledger defines, or references, the entity ``key``: then it is the
        ledger's alone and no request may describe it. With a schema, every action is the
        schema's (Cedar adds the schema's action entities to the store).
        """
        if self._ledger_uids is None:
            # Threads of a server may both collect it: the same set, assigned whole.
            self._ledger_uids = referenced_uids(self.base_entities.values())
        return key in self._ledger_uids or (self.schema is not None and is_action_type(key[0]))

    def entities_for(self, additions: Mapping[tuple[str, str], Mapping[str, Any]]) -> Any:
        """The entities handle for one request: the ledger's, plus the entities the request
        describes that the ledger does not define (Cedar JSON, built by
        :func:`ztauth_cli.engine.entities.describe_entities`).

        An addition for an entity the ledger defines is dropped here too (defence in depth):
        the ledger's entities are never replaced, merged into or given parents by a request.

        Raises:
            ValueError: when Cedar rejects the additions (e.g. under the schema).
        """
        delta = [dict(e) for key, e in additions.items() if not self.defines(key)]
        if not delta:
            return self.entities
        return self.entities.with_added_json_str(json.dumps(delta), self.schema)

    def _outcome(self, result: Any) -> CedarOutcome:
        return self._translate(
            bool(result.allowed), result.diagnostics.reasons, result.diagnostics.errors
        )

    def _effect_read_by_cedar(self, key: str) -> str | None:
        """The effect of policy ``key`` as Cedar parsed it, not as the ledger's reading of its
        head says: whether an erroring policy may be skipped rests on it (a forbid never is).
        Read on the first error only, as most runs have none."""
        if self._cedar_effects is None:
            nodes = self.policy_set.to_pst()
            parsed = {**nodes.static_policies, **nodes.templates}
            # Threads of a server may both read it: the same mapping, assigned whole.
            self._cedar_effects = {self._keys.get(n, n): str(p.effect) for n, p in parsed.items()}
        return self._cedar_effects.get(key)

    def _translate(self, allowed: bool, reasons: Any, raw_errors: Any) -> CedarOutcome:
        keys = self._keys
        # Cedar names policies by number; the user knows them by @id (see __init__).
        errors = tuple(
            _POSITIONAL_IN_ERROR.sub(lambda m: f"policy `{keys.get(m[1], m[1])}`", str(e))
            for e in raw_errors
        )
        request_error = next((e for e in errors if e.startswith("failed to build request")), None)
        errored_forbids: list[str] = []
        for error in errors:
            match = _POLICY_IN_ERROR.search(error)
            name = match.group(1) if match else None
            # Fail closed: an error we cannot pin to a permit counts as an erroring forbid.
            if name is None or self._effect_read_by_cedar(name) != "permit":
                errored_forbids.append(name or error)
        return CedarOutcome(
            allowed=allowed and not errored_forbids and request_error is None,
            determining=tuple(sorted(keys.get(str(r), str(r)) for r in reasons)),
            errors=errors,
            errored_forbids=tuple(sorted(errored_forbids)) if request_error is None else (),
            request_error=request_error,
        )

    def _answer(self, text: str) -> CedarOutcome:
        """The outcome of one answer of Cedar's batch call, as JSON text.

        Answers repeat (a ledger has few distinct ones: the decision, the determining policies
        and the errors), so each distinct one is translated once. Only the ``metrics`` member
        differs between equal answers; it is cut off only when the text ends exactly with it
        (name/number pairs, nothing after), so that the key always holds the decision and
        every diagnostic. A JSON string cannot hold ``,"`` unescaped, so the cut is never
        inside one.
        """
        cut = text.rfind(',"metrics":')
        key = text[:cut] if cut >= 0 and _METRICS_TAIL.fullmatch(text, cut) else text
        outcome = self._answers.get(key)
        if outcome is None:
            data = json.loads(text)
            diagnostics = data.get("diagnostics", {})
            outcome = self._translate(
                data["decision"] == "Allow",
                diagnostics.get("reason", []),
                diagnostics.get("errors", []),
            )
            if len(self._answers) >= _ANSWERS:
                self._answers.clear()
            self._answers[key] = outcome
        return outcome

    def authorize_batch(self, requests: Sequence[Mapping[str, Any]], entities: Any) -> list[Any]:
        """Evaluate Cedar requests against the ledger's policies with one entities handle."""
        import cedarpy

        internal = _raw_batch()
        handle = getattr(entities, "_inner", None)
        if internal is None or handle is None:
            results = cedarpy.is_authorized_batch(
                [dict(r) for r in requests], self.policy_set, entities, self.schema
            )
            return [self._outcome(r) for r in results]
        # cedarpy's own call, minus its wrapper: the requests go in as that wrapper sends
        # them (the context as json.dumps text) and each answer comes back as JSON text,
        # translated by _answer without building cedarpy's result objects.
        answers = internal(
            [_wire(r) for r in requests], self.policy_set, handle, self.schema, False
        )
        return [self._answer(a) for a in answers]

    def may_read_ztauth(self, action: Mapping[str, str]) -> bool:
        """Whether a policy that mentions ``ztauth`` may apply to ``action`` (conservative:
        only a policy scoped ``action == <another action>`` is known not to apply).
        """
        for scope in self._ztauth_scopes:
            entity = scope.get("entity")
            other = (
                scope.get("op") == "=="
                and isinstance(entity, Mapping)
                and (entity.get("type"), entity.get("id")) != (action["type"], action["id"])
            )
            if not other:
                return True
        return False

    def request_error(self, request: Mapping[str, Any], entities: Any) -> str | None:
        """Cedar's objection to a request under the schema (None when it is valid)."""
        import cedarpy

        result = cedarpy.is_authorized(dict(request), self._no_policies, entities, self.schema)
        errors = [str(e) for e in result.diagnostics.errors]
        return next((e for e in errors if e.startswith("failed to build request")), None)

    def condition_holds(self, name: str, request: Mapping[str, Any], entities: Any) -> CedarOutcome:
        """Evaluate the elevation condition ``name`` (a one-policy permit set) on a request."""
        import cedarpy

        result = cedarpy.is_authorized(dict(request), self.conditions[name], entities)
        errors = tuple(str(e) for e in result.diagnostics.errors)
        return CedarOutcome(
            allowed=bool(result.allowed) and not errors,
            determining=(),
            errors=errors,
            errored_forbids=(),
            request_error=next((e for e in errors if e.startswith("failed to build")), None),
        )
