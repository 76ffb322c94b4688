"""`ztauth eval` through the CLI: the sample ledger, real tokens (keys generated here and
passed with --jwks), real Git revisions, the audit log, streams and malformed input.
"""

from __future__ import annotations

import io
import json
import re
import shutil
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from tests.conftest import SAMPLE_LEDGER
from tests.support.repo import LedgerRepo
from ztauth_cli import jose
from ztauth_cli.cli.eval_cmd import run_eval
from ztauth_cli.cli.main import app
from ztauth_cli.report.formats import OutputFormat

AT = "2026-06-01T12:00:00Z"
NOW = datetime(2026, 6, 1, 12, tzinfo=timezone.utc)
ZTID = "ztauth://acme.internal/273165098782/ledgers/acme-documents"
IDP = "https://idp.acme.internal"
ATTEST = "https://attest.acme.internal"
CHAT = "spiffe://acme.internal/assistant/chat"
LEGACY = "spiffe://acme.internal/assistant/legacy"
GATEWAY = "spiffe://acme.internal/gateway/edge"
WORKER = "spiffe://acme.internal/billing/worker-1"
ALICE_READS = {
    "subject": {"type": "User", "id": "alice"},
    "action": {"name": "read"},
    "resource": {"type": "Document", "id": "q3-report"},
    "context": {"channel": "web"},
}


def _eval(runner: CliRunner, *args: str, stdin: str | None = None) -> Any:
    return runner.invoke(
        app, ["eval", "--ledger", str(SAMPLE_LEDGER), "--at", AT, *args], input=stdin
    )


def _write(tmp_path: Path, name: str, body: Any) -> str:
    path = tmp_path / name
    path.write_text(body if isinstance(body, str) else json.dumps(body), encoding="utf-8")
    return str(path)


# ----------------------------------------------------------------------------- keys/tokens


class Issuers:
    """Fresh keys for the sample ledger's issuers; their public halves go in one --jwks file."""

    def __init__(self, folder: Path) -> None:
        self.idp = jose.generate_key("EdDSA")
        self.attest = jose.generate_key("ES256")
        self.jwks = folder / "trusted.jwks.json"
        self.jwks.write_text(
            json.dumps({"keys": [self.idp.public_jwk, self.attest.public_jwk]}), encoding="utf-8"
        )

    def token(
        self, key: jose.KeyPair, issuer: str, claims: dict[str, Any], *, age: int = 60
    ) -> str:
        issued = int((NOW - timedelta(seconds=age)).timestamp())
        payload = {"iss": issuer, "aud": ZTID, "iat": issued, "exp": issued + 3600, **claims}
        return jose.sign(payload, key.private_pem, alg=key.alg, kid=key.kid)

    def attestation(self, workload: str, *, age: int = 60) -> str:
        return self.token(self.attest, ATTEST, {"sub": workload}, age=age)

    def consent(self, delegate: str, scope: str, subject: str = "alice") -> str:
        return self.token(self.idp, IDP, {"sub": subject, "act": delegate, "scope": scope})


@pytest.fixture(scope="module")
def issuers(tmp_path_factory: pytest.TempPathFactory) -> Issuers:
    return Issuers(tmp_path_factory.mktemp("keys"))


def _delegated(actor: str, tokens: dict[str, str], **extra: Any) -> dict[str, Any]:
    return {
        **ALICE_READS,
        "context": {"channel": "chat"},
        "authorization_model": {
            "ledger": ZTID,
            "principal": {"type": "Workload", "id": actor},
            "tokens": tokens,
            **extra,
        },
    }


# ----------------------------------------------------------------------------- plain requests


def test_plain_request_json_response_is_the_whole_document(runner: CliRunner) -> None:
    result = _eval(runner, str(SAMPLE_LEDGER / "requests/alice-reads-q3-report.json"), "-f", "json")
    assert result.exit_code == 0, result.stderr
    response = json.loads(result.stdout)
    version = response["context"]["ztauth"].pop("version")
    assert version is None or version.startswith("v")
    # Every decision has a fresh id (also recorded by --audit-log): 32 hex digits.
    decision_id = response["context"].pop("id")
    assert re.fullmatch(r"[0-9a-f]{32}", decision_id)
    assert response == {
        "decision": True,
        "context": {
            "reason_admin": {
                "code": "allowed",
                "message": "permitted by department-reads-internal, owner-can-read",
            },
            "reason_user": {"code": "allowed", "message": "Access granted."},
            "ztauth": {
                "ledger": ZTID,
                "revision": None,
                "policies": ["department-reads-internal", "owner-can-read"],
                "via": None,
                "trace": [
                    {
                        "step": "request",
                        "passed": True,
                        "detail": 'User::"alice": read on Document::"q3-report"',
                    },
                    {"step": "tokens", "passed": True, "detail": "no tokens in the request"},
                    {
                        "step": "actor_trust",
                        "passed": True,
                        "detail": 'User::"alice" acts for itself',
                    },
                    {
                        "step": "on_behalf_of",
                        "passed": True,
                        "detail": 'User::"alice" acts for itself; no grant needed',
                    },
                    {
                        "step": "policy",
                        "passed": True,
                        "detail": "permitted by department-reads-internal, owner-can-read",
                    },
                ],
            },
        },
    }


def test_default_format_off_a_terminal_is_json(runner: CliRunner) -> None:
    result = _eval(runner, str(SAMPLE_LEDGER / "requests/alice-reads-q3-report.json"))
    assert result.exit_code == 0
    assert json.loads(result.stdout)["decision"] is True


def test_batch_file_gives_evaluations(runner: CliRunner) -> None:
    result = _eval(runner, str(SAMPLE_LEDGER / "requests/bob-document-batch.json"), "-f", "json")
    assert result.exit_code == 0, result.stderr
    evaluations = json.loads(result.stdout)["evaluations"]
    assert [(e["decision"], e["context"]["reason_admin"]["code"]) for e in evaluations] == [
        (True, "allowed"),
        (True, "allowed"),
        (False, "policy_denied"),
        (False, "policy_denied"),
        (True, "allowed"),
    ]


def test_yaml_request_and_stdin(runner: CliRunner, tmp_path: Path) -> None:
    yaml_request = (
        "subject: {type: User, id: bob}\naction: {name: read}\n"
        "resource: {type: Document, id: roadmap}\n"
    )
    path = _write(tmp_path, "req.yaml", yaml_request)
    result = _eval(runner, path, "-f", "json", "--fail-on-deny")
    assert result.exit_code == 0, result.stderr  # bob owns the roadmap
    from_stdin = _eval(runner, "-", "-f", "json", stdin=json.dumps(ALICE_READS))
    assert from_stdin.exit_code == 0
    assert json.loads(from_stdin.stdout)["decision"] is True


def test_fail_on_deny(runner: CliRunner, tmp_path: Path) -> None:
    path = _write(
        tmp_path, "deny.json", {**ALICE_READS, "resource": {"type": "Document", "id": "roadmap"}}
    )
    plain = _eval(runner, path, "-f", "json")
    assert plain.exit_code == 0
    assert json.loads(plain.stdout)["context"]["ztauth"]["policies"] == ["restricted-owner-only"]
    failing = _eval(runner, path, "-f", "json", "--fail-on-deny")
    assert failing.exit_code == 1


def test_structurally_invalid_request_is_an_invalid_request_decision(
    runner: CliRunner, tmp_path: Path
) -> None:
    path = _write(tmp_path, "bad.json", {"subject": {"type": "User"}, "action": {"name": "read"}})
    result = _eval(runner, path, "-f", "json")
    assert result.exit_code == 0
    reason = json.loads(result.stdout)["context"]["reason_admin"]
    assert reason == {
        "code": "invalid_request",
        "message": "subject.id must be a non-empty string, found null",
    }


@pytest.mark.parametrize(
    ("name", "text", "where"),
    [
        (
            "broken.json",
            '{"subject": {"type": "User",\n  "id": }}',
            "broken.json:2:9: invalid JSON",
        ),
        ("broken.yaml", "subject: {type: User\naction: [", "broken.yaml:2:"),
        ("two.yaml", "a: 1\n---\nb: 2\n", "two.yaml:3:1: expected one request document"),
        ("empty.yaml", "", "empty.yaml:1:1: the request is empty"),
    ],
    ids=["json", "yaml", "two-documents", "empty"],
)
def test_malformed_request_file_is_exit_2_with_file_line(
    runner: CliRunner, tmp_path: Path, name: str, text: str, where: str
) -> None:
    path = _write(tmp_path, name, text)
    result = _eval(runner, path)
    assert result.exit_code == 2
    assert result.stdout == ""
    assert where in result.stderr
    assert "Traceback" not in result.stderr


def test_missing_request_file(runner: CliRunner, tmp_path: Path) -> None:
    result = _eval(runner, str(tmp_path / "nope.json"))
    assert result.exit_code == 2
    assert "nope.json:1:1: cannot read the request" in result.stderr
    # One reason, once: not "[Errno 2] No such file or directory: '.../nope.json'" again.
    missing = tmp_path / "nope.json"
    assert (
        result.stderr
        == f"error: {missing}:1:1: cannot read the request: No such file or directory\n"
    )
    stream = _eval(runner, str(tmp_path / "nope.jsonl"))
    assert stream.exit_code == 2
    assert stream.stderr == (
        f"error: {tmp_path / 'nope.jsonl'}:1:1: cannot read the stream: No such file or directory\n"
    )


def test_no_request_on_a_terminal_stdin_is_refused_not_awaited() -> None:
    from ztauth_cli.errors import UsageError

    class _Terminal(io.StringIO):
        def isatty(self) -> bool:
            return True

    with pytest.raises(UsageError) as caught:
        run_eval(
            request_file="-",
            ledger_path=SAMPLE_LEDGER,
            rev=None,
            at=AT,
            fmt=OutputFormat.JSON,
            stdin=_Terminal(""),
        )
    assert caught.value.message == "no REQUEST_FILE given and stdin is a terminal"
    assert caught.value.hint is not None
    assert caught.value.hint.startswith("pass a request file")


def test_output_file_is_the_stdout_response(runner: CliRunner, tmp_path: Path) -> None:
    request = _write(tmp_path, "req.json", ALICE_READS)
    printed = _eval(runner, request, "-f", "json")
    assert printed.exit_code == 0
    out = tmp_path / "response.json"
    result = _eval(runner, request, "-o", str(out))
    assert (result.exit_code, result.stdout) == (0, "")
    # -o without -f is off a terminal: JSON, byte for byte what stdout would show (but for
    # the decision's id, fresh on every run).
    fresh = re.compile(r'"id": "[0-9a-f]{32}"')
    assert fresh.sub("ID", out.read_text(encoding="utf-8")) == fresh.sub("ID", printed.stdout)
    stream = _write(tmp_path, "s.jsonl", json.dumps(ALICE_READS) + "\n" + "{bad\n")
    result = _eval(runner, stream, "-o", str(out), "-f", "text")
    assert result.exit_code == 0
    lines = out.read_text(encoding="utf-8").splitlines()
    assert lines[0].startswith("line 1: ")
    assert lines[1].startswith("line 2: DENY  invalid_request: line 2: invalid JSON")
    result = _eval(runner, request, "-o", str(tmp_path / "no" / "r.json"))
    assert result.exit_code == 2
    assert "does not exist" in result.stderr


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--at", "tomorrow"], "'tomorrow' is not an RFC 3339 timestamp"),
        (["-f", "junit"], "ztauth eval does not support --format junit; use one of: json, text"),
    ],
    ids=["bad-at", "bad-format"],
)
def test_usage_errors(runner: CliRunner, args: list[str], message: str) -> None:
    result = runner.invoke(
        app,
        [
            "eval",
            "--ledger",
            str(SAMPLE_LEDGER),
            str(SAMPLE_LEDGER / "requests/alice-reads-q3-report.json"),
            *args,
        ],
    )
    assert result.exit_code == 2
    assert message in result.stderr


def test_text_output_with_explain(runner: CliRunner, tmp_path: Path, issuers: Issuers) -> None:
    request = _delegated(
        CHAT,
        {
            "consent": issuers.consent(CHAT, "read summarize"),
            "attestation": issuers.attestation(CHAT),
        },
    )
    path = _write(tmp_path, "chat.json", request)
    result = _eval(runner, path, "--jwks", str(issuers.jwks), "-f", "text", "--explain")
    assert result.exit_code == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines[0] == f'ALLOW User::"alice" read Document::"q3-report" (actor {CHAT})'
    assert lines[1] == "  reason: allowed: permitted by department-reads-internal, owner-can-read"
    assert lines[2] == "  via: delegation/user-assistant-read"
    assert "trace" in lines
    assert any(line.startswith("├── pass actor_trust: ") for line in lines)
    assert any("pass tokens: attestation token verified" in line for line in lines)
    assert lines[-1].startswith("└── pass policy: permitted by")
    assert "\x1b[" not in result.stdout  # plain text off a terminal


# ----------------------------------------------------------------------------- ZTAuth* requests


def test_delegation_scenarios_of_the_sample_ledger(
    runner: CliRunner, tmp_path: Path, issuers: Issuers
) -> None:
    cases = {
        "consented": (
            _delegated(
                CHAT,
                {
                    "consent": issuers.consent(CHAT, "read summarize"),
                    "attestation": issuers.attestation(CHAT),
                },
            ),
            (True, "allowed"),
        ),
        "no-consent": (
            _delegated(CHAT, {"attestation": issuers.attestation(CHAT)}),
            (False, "consent_required"),
        ),
        "revoked-legacy": (
            _delegated(
                LEGACY,
                {
                    "consent": issuers.consent(LEGACY, "read"),
                    "attestation": issuers.attestation(LEGACY),
                },
            ),
            (False, "untrusted_actor"),
        ),
        "stale-attestation": (
            _delegated(
                CHAT,
                {
                    "consent": issuers.consent(CHAT, "read"),
                    "attestation": issuers.attestation(CHAT, age=11 * 60),
                },
            ),
            (False, "untrusted_actor"),
        ),
    }
    stream = "\n".join(json.dumps(request) for request, _ in cases.values()) + "\n"
    path = _write(tmp_path, "cases.jsonl", stream)
    result = _eval(runner, path, "--jwks", str(issuers.jwks))
    assert result.exit_code == 0, result.stderr
    responses = [json.loads(line) for line in result.stdout.splitlines()]
    got = [(r["decision"], r["context"]["reason_admin"]["code"]) for r in responses]
    assert got == [expected for _, expected in cases.values()]
    # Without --jwks the same tokens are signed by keys the ledger does not know.
    untrusted = _eval(runner, path)
    codes = [
        json.loads(line)["context"]["reason_admin"]["code"]
        for line in untrusted.stdout.splitlines()
    ]
    assert codes == ["invalid_token"] * 4


def test_gateway_assistant_billing_chain(
    runner: CliRunner, tmp_path: Path, issuers: Issuers
) -> None:
    def link(*actors: str) -> str:
        """A txn token passing charge from ``actors[1]`` to ``actors[0]`` (RFC 8693 act)."""
        act: dict[str, Any] = {"sub": actors[-1]}
        for actor in reversed(actors[:-1]):
            act = {"sub": actor, "act": act}
        claims = {"sub": "alice", "act": act, "scope": "charge"}
        return issuers.token(issuers.idp, "https://txn.acme.internal", claims)

    def chain_request(assistant: str) -> dict[str, Any]:
        return {
            "subject": {"type": "User", "id": "alice"},
            "action": {"name": "charge"},
            "resource": {"type": "Invoice", "id": "inv-1001"},
            "context": {"channel": "orders-queue"},
            "authorization_model": {
                "principal": {"type": "Workload", "id": WORKER},
                "tokens": {
                    "attestation": issuers.attestation(WORKER),
                    "txn": link(WORKER, assistant),
                },
                "chain": [
                    {
                        "principal": {"type": "Workload", "id": GATEWAY},
                        "scope": ["read", "summarize", "charge"],
                        "tokens": {
                            "attestation": issuers.attestation(GATEWAY),
                            "consent": issuers.consent(GATEWAY, "read summarize charge"),
                        },
                    },
                    {
                        "principal": {"type": "Workload", "id": assistant},
                        "scope": ["charge"],
                        "tokens": {
                            "attestation": issuers.attestation(assistant),
                            "txn": link(assistant, GATEWAY),
                        },
                    },
                ],
            },
        }

    good = _write(tmp_path, "chain.json", chain_request(CHAT))
    result = _eval(runner, good, "--jwks", str(issuers.jwks), "-f", "json")
    assert result.exit_code == 0, result.stderr
    response = json.loads(result.stdout)
    assert response["decision"] is True, response["context"]["reason_admin"]
    assert response["context"]["ztauth"]["via"] == "elevation/billing-acts-for-customer"
    chain_step = next(s for s in response["context"]["ztauth"]["trace"] if s["step"] == "chain")
    # One line per party after alice: both hops re-checked, and the worker, each linked.
    assert [c["detail"] for c in chain_step["children"]] == [
        f"hop 1 ({GATEWAY}): trusted at 'trusted', linked from the subject (alice) by consent, "
        "scope charge, read, summarize",
        f"hop 2 ({CHAT}): trusted at 'attested', linked from hop 1 ({GATEWAY}) by txn, "
        "scope charge",
        f"the actor ({WORKER}): linked from hop 2 ({CHAT}) by txn, scope charge",
    ]

    revoked = _write(tmp_path, "revoked.json", chain_request(LEGACY))
    result = _eval(runner, revoked, "--jwks", str(issuers.jwks), "-f", "json", "--fail-on-deny")
    assert result.exit_code == 1
    reason = json.loads(result.stdout)["context"]["reason_admin"]
    assert reason["code"] == "chain_broken"
    assert reason["message"].startswith(f"hop 2 ({LEGACY}) is no longer trusted")


def test_jwks_with_private_key_is_refused(runner: CliRunner, tmp_path: Path) -> None:
    pair = jose.generate_key("EdDSA")
    private = {**pair.public_jwk, "d": "AAAA"}
    path = _write(tmp_path, "bad.jwks.json", {"keys": [private]})
    result = _eval(
        runner, str(SAMPLE_LEDGER / "requests/alice-reads-q3-report.json"), "--jwks", path
    )
    assert result.exit_code == 2
    assert "bad.jwks.json:1:1: keys[0]: private key material" in result.stderr


# ----------------------------------------------------------------------------- streams


def test_jsonl_stream_keeps_going_after_a_bad_line(runner: CliRunner, tmp_path: Path) -> None:
    lines = [
        json.dumps(ALICE_READS),
        "{not json",
        "",
        json.dumps({**ALICE_READS, "subject": {"type": "User", "id": "dave"}}),
        json.dumps(
            {
                **ALICE_READS,
                "evaluations": [{}, {"resource": {"type": "Document", "id": "roadmap"}}],
            }
        ),
    ]
    path = _write(tmp_path, "s.jsonl", "\n".join(lines) + "\n")
    result = _eval(runner, path, "--fail-on-deny")
    assert result.exit_code == 1
    out = [json.loads(line) for line in result.stdout.splitlines()]
    assert len(out) == 4
    assert out[0]["decision"] is True
    assert out[1]["context"]["reason_admin"] == {
        "code": "invalid_request",
        "message": "line 2: invalid JSON: Expecting property name enclosed in double quotes",
    }
    assert out[2]["context"]["reason_admin"]["code"] == "policy_denied"
    assert [e["decision"] for e in out[3]["evaluations"]] == [True, False]
    text = _eval(runner, path, "-f", "text")
    assert text.stdout.splitlines()[:2] == [
        "line 1: ALLOW allowed: permitted by department-reads-internal, owner-can-read",
        "line 2: DENY  invalid_request: line 2: invalid JSON: Expecting property name enclosed "
        "in double quotes",
    ]


def test_jsonl_from_stdin(runner: CliRunner) -> None:
    stream = json.dumps(ALICE_READS) + "\n" + json.dumps(ALICE_READS) + "\n"
    result = _eval(runner, "-", "--jsonl", stdin=stream)
    assert result.exit_code == 0
    assert len(result.stdout.splitlines()) == 2


def test_run_eval_streams_through_injected_files(tmp_path: Path) -> None:
    source = io.StringIO("".join(json.dumps(ALICE_READS) + "\n" for _ in range(600)))
    out = io.StringIO()
    code = run_eval(
        request_file="-",
        ledger_path=SAMPLE_LEDGER,
        rev=None,
        at=AT,
        fmt=OutputFormat.JSON,
        jsonl=True,
        stdin=source,
        stdout=out,
    )
    assert code == 0
    decisions = [json.loads(line)["decision"] for line in out.getvalue().splitlines()]
    assert decisions == [True] * 600


# ----------------------------------------------------------------------------- ledgers


def test_rev_evaluates_the_committed_ledger_not_the_worktree(
    runner: CliRunner, sample_repo: LedgerRepo, tmp_path: Path
) -> None:
    head = sample_repo.repo.head().decode()
    sample_repo.tag("v1.0.0")
    policy = sample_repo.root / "policies/documents.cedar"
    policy.write_text(
        policy.read_text(encoding="utf-8").replace('@id("owner-can-read")', '@id("owner-reads")'),
        encoding="utf-8",
    )
    request = _write(
        tmp_path, "r.json", {**ALICE_READS, "subject": {"type": "User", "id": "alice"}}
    )
    base = ["eval", "--ledger", str(sample_repo.root), "--at", AT, request, "-f", "json"]
    worktree = json.loads(runner.invoke(app, base).stdout)["context"]["ztauth"]
    assert "owner-reads" in worktree["policies"]
    assert worktree["revision"] is None
    at_tag = runner.invoke(app, [*base, "--rev", "v1.0.0"])
    assert at_tag.exit_code == 0, at_tag.stderr
    tagged = json.loads(at_tag.stdout)["context"]["ztauth"]
    assert "owner-can-read" in tagged["policies"]
    assert (tagged["revision"], tagged["version"]) == (head, "v1.0.0")
    missing = runner.invoke(app, [*base, "--rev", "v9.9.9"])
    assert missing.exit_code == 2


def test_required_signatures_fail_closed(runner: CliRunner, tmp_path: Path) -> None:
    ledger = tmp_path / "ledger"
    shutil.copytree(SAMPLE_LEDGER, ledger)
    manifest = ledger / "ztauth.yaml"
    manifest.write_text(
        manifest.read_text(encoding="utf-8").replace(
            "require_signatures: 0", "require_signatures: 1"
        ),
        encoding="utf-8",
    )
    result = runner.invoke(
        app,
        [
            "eval",
            "--ledger",
            str(ledger),
            "--at",
            AT,
            str(ledger / "requests/alice-reads-q3-report.json"),
        ],
    )
    assert result.exit_code == 0
    response = json.loads(result.stdout)
    assert response["decision"] is False
    assert response["context"]["reason_admin"]["code"] == "ledger_unverified"
    assert "unsigned" in response["context"]["reason_admin"]["message"]


def test_broken_ledger_is_exit_2(runner: CliRunner, tmp_path: Path) -> None:
    ledger = tmp_path / "ledger"
    shutil.copytree(SAMPLE_LEDGER, ledger)
    (ledger / "policies/broken.cedar").write_text(
        '@id("broken")\npermit (principal, action, resource) when { 1 + };\n', encoding="utf-8"
    )
    result = runner.invoke(
        app,
        ["eval", "--ledger", str(ledger), str(ledger / "requests/alice-reads-q3-report.json")],
    )
    assert result.exit_code == 2
    assert "policies/broken.cedar:2:49: Cedar syntax error: unexpected '}'" in result.stderr


def test_audit_log_chains_every_decision(
    runner: CliRunner, tmp_path: Path, issuers: Issuers
) -> None:
    from ztauth_cli.audit import read_log, verify_log

    log = tmp_path / "decisions.log"
    secret = issuers.consent(CHAT, "read")
    single = _write(tmp_path, "one.json", _delegated(CHAT, {"consent": secret}))
    batch = str(SAMPLE_LEDGER / "requests/bob-document-batch.json")
    for path in (single, batch):
        result = _eval(runner, path, "--audit-log", str(log), "--jwks", str(issuers.jwks))
        assert result.exit_code == 0, result.stderr
    assert verify_log(log).ok
    assert verify_log(log).lines == 6
    text = log.read_text(encoding="utf-8")
    assert secret not in text  # bearer tokens are stored redacted
    entries = list(read_log(log))
    assert entries[0]["code"] == "untrusted_actor"  # no attestation
    assert [e["request"]["action"]["name"] for e in entries[1:]] == [
        "read",
        "summarize",
        "share",
        "delete",
        "read",
    ]


# ----------------------------------------------------------------------------- fail closed


def _billing_charge(issuers: Issuers, **tokens: str) -> dict[str, Any]:
    return {
        "subject": {"type": "User", "id": "alice"},
        "action": {"name": "charge"},
        "resource": {"type": "Invoice", "id": "inv-1001"},
        "context": {"channel": "orders-queue"},
        "authorization_model": {
            "principal": {"type": "Workload", "id": WORKER},
            "tokens": {"attestation": issuers.attestation(WORKER), **tokens},
        },
    }


def test_a_presented_token_that_does_not_verify_is_never_ignored(
    runner: CliRunner, tmp_path: Path, issuers: Issuers
) -> None:
    """The billing elevation needs no consent; a forged consent used to be ignored (allow)."""
    forger = jose.generate_key("EdDSA")
    forged = jose.sign(
        {"iss": IDP, "aud": ZTID, "sub": "alice", "act": WORKER, "scope": "charge",
         "iat": int(NOW.timestamp()), "exp": int(NOW.timestamp()) + 3600},
        forger.private_pem, alg=forger.alg, kid=issuers.idp.kid,
    )  # fmt: skip
    cases = {
        "no extra token": (_billing_charge(issuers), (True, "allowed")),
        "valid consent nobody needs": (
            _billing_charge(issuers, consent=issuers.consent(WORKER, "charge")),
            (True, "allowed"),
        ),
        "forged consent": (_billing_charge(issuers, consent=forged), (False, "invalid_consent")),
        "forged subject token": (
            _billing_charge(issuers, subject=forged),
            (False, "invalid_token"),
        ),
        "consent by someone else": (
            _billing_charge(issuers, consent=issuers.consent(WORKER, "charge", subject="bob")),
            (False, "invalid_consent"),
        ),
    }
    hop = {
        "principal": {"type": "Workload", "id": GATEWAY},
        "scope": ["charge"],
        "tokens": {"attestation": issuers.attestation(GATEWAY), "consent": forged},
    }
    chained = _billing_charge(issuers)
    chained["authorization_model"]["chain"] = [hop]
    cases["forged consent in a chain hop"] = (chained, (False, "invalid_consent"))
    unknown = _billing_charge(issuers)
    unknown["authorization_model"]["tokens"]["id_token"] = forged
    cases["unknown token kind"] = (unknown, (False, "invalid_request"))
    stream = "\n".join(json.dumps(request) for request, _ in cases.values()) + "\n"
    path = _write(tmp_path, "tokens.jsonl", stream)
    result = _eval(runner, path, "--jwks", str(issuers.jwks))
    assert result.exit_code == 0, result.stderr
    responses = [json.loads(line) for line in result.stdout.splitlines()]
    got = {
        name: (r["decision"], r["context"]["reason_admin"]["code"])
        for name, r in zip(cases, responses, strict=True)
    }
    assert got == {name: expected for name, (_, expected) in cases.items()}
    forged_reason = responses[2]["context"]["reason_admin"]["message"]
    assert forged_reason.startswith("consent token is not valid: ")


def test_explain_without_format_is_text_off_a_terminal(runner: CliRunner) -> None:
    request = str(SAMPLE_LEDGER / "requests/alice-reads-q3-report.json")
    result = _eval(runner, request, "--explain")
    assert result.exit_code == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines[0] == 'ALLOW User::"alice" read Document::"q3-report"'
    assert "trace" in lines
    assert lines[-1].startswith("└── pass policy: permitted by")
    as_json = _eval(runner, request, "--explain", "-f", "json")
    assert as_json.exit_code == 0
    trace = json.loads(as_json.stdout)["context"]["ztauth"]["trace"]
    assert [step["step"] for step in trace][-1] == "policy"


def test_jsonl_line_with_a_duplicate_key_is_invalid_request(
    runner: CliRunner, tmp_path: Path
) -> None:
    # json.loads keeps the last "action" (share), other parsers the first: refuse the line.
    line = (
        '{"subject": {"type": "User", "id": "alice"}, "action": {"name": "read"}, '
        '"action": {"name": "share"}, "resource": {"type": "Document", "id": "q3-report"}}'
    )
    path = _write(tmp_path, "dup.jsonl", line + "\n" + json.dumps(ALICE_READS) + "\n")
    result = _eval(runner, path)
    assert result.exit_code == 0, result.stderr
    first, second = (json.loads(x) for x in result.stdout.splitlines())
    assert first["context"]["reason_admin"] == {
        "code": "invalid_request",
        "message": "line 1: duplicate key 'action'",
    }
    assert second["decision"] is True
    single = _write(tmp_path, "dup.json", line)
    refused = _eval(runner, single)
    assert refused.exit_code == 2
    assert "duplicate key 'action'" in refused.stderr


def test_the_sample_schema_validates_requests(runner: CliRunner, tmp_path: Path) -> None:
    typo = _write(tmp_path, "typo.json", {**ALICE_READS, "action": {"name": "raed"}})
    result = _eval(runner, typo, "-f", "json", "--fail-on-deny")
    assert result.exit_code == 1
    reason = json.loads(result.stdout)["context"]["reason_admin"]
    assert reason["code"] == "invalid_request"
    assert 'action `Action::"raed"` does not exist in the supplied schema' in reason["message"]
    undeclared = _write(tmp_path, "ctx.json", {**ALICE_READS, "context": {"chanel": "web"}})
    reason = json.loads(_eval(runner, undeclared, "-f", "json").stdout)["context"]["reason_admin"]
    assert reason["code"] == "invalid_request"
    assert "`chanel` should not exist" in reason["message"]
    spoofed = _write(
        tmp_path,
        "spoof.json",
        {**ALICE_READS, "context": {"channel": "web", "ztauth": {"delegated": False}}},
    )
    result = _eval(runner, spoofed, "-f", "json")
    assert json.loads(result.stdout)["decision"] is True  # the caller's ztauth is dropped


def test_deeply_nested_input_is_refused_not_a_crash(runner: CliRunner, tmp_path: Path) -> None:
    deep = "[" * 100_000 + "]" * 100_000
    stream = _write(tmp_path, "deep.jsonl", deep + "\n" + json.dumps(ALICE_READS) + "\n")
    result = _eval(runner, stream)
    assert result.exit_code == 0, result.stderr
    first, second = (json.loads(x) for x in result.stdout.splitlines())
    # The same limit, and the same reader, as a .json request file.
    assert first["context"]["reason_admin"]["message"] == "line 1: nesting deeper than 64 levels"
    assert second["decision"] is True
    single = _eval(runner, _write(tmp_path, "deep.json", deep))
    assert single.exit_code == 2
    assert "deep.json:1:66: nesting deeper than 64 levels" in single.stderr


def test_a_one_off_request_from_flags_is_the_same_decision_as_its_file(
    runner: CliRunner, tmp_path: Path
) -> None:
    from tests.conftest import SAMPLE_LEDGER

    request = {
        "subject": {"type": "User", "id": "alice"},
        "action": {"name": "read"},
        "resource": {"type": "Document", "id": "q3-report"},
    }
    path = tmp_path / "r.json"
    path.write_text(json.dumps(request))
    base = ["eval", "--ledger", str(SAMPLE_LEDGER), "-f", "json", "--at", "2026-06-01T12:00:00Z"]
    from_file = runner.invoke(app, [*base, str(path)])
    from_flags = runner.invoke(
        app,
        [*base, "--subject", "User:alice", "--action", "read", "--resource", "Document:q3-report"],
    )
    assert from_flags.exit_code == 0, from_flags.stderr
    assert json.loads(from_flags.stdout) == json.loads(from_file.stdout)
    assert json.loads(from_flags.stdout)["decision"] is True

    # --principal is the workload acting for the subject: an unknown one is not trusted.
    acting = runner.invoke(
        app,
        [
            *base,
            "--subject",
            "User:alice",
            "--action",
            "read",
            "--resource",
            "Document:q3-report",
            "--principal",
            "Workload:spiffe://acme.internal/unknown/tool",
        ],
    )
    assert acting.exit_code == 0, acting.stderr
    assert json.loads(acting.stdout)["decision"] is False


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--subject", "User:alice", "--action", "read"], "missing --resource"),
        (
            ["--subject", "alice", "--action", "read", "--resource", "Document:x"],
            "--subject 'alice': expected TYPE:ID",
        ),
        (
            ["r.json", "--subject", "User:a", "--action", "read", "--resource", "Document:x"],
            "give either REQUEST_FILE (r.json) or --subject/--action/--resource, not both",
        ),
    ],
    ids=["incomplete", "no-type", "and-a-file"],
)
def test_one_off_request_usage_errors(runner: CliRunner, args: list[str], message: str) -> None:
    from tests.conftest import SAMPLE_LEDGER

    result = runner.invoke(app, ["eval", "--ledger", str(SAMPLE_LEDGER), *args])
    assert result.exit_code == 2
    assert message in result.stderr


def test_output_file_gets_a_summary_on_stderr(runner: CliRunner, tmp_path: Path) -> None:
    from tests.conftest import SAMPLE_LEDGER

    out = tmp_path / "responses.json"
    batch = SAMPLE_LEDGER / "requests" / "bob-document-batch.json"
    result = runner.invoke(
        app, ["eval", str(batch), "--ledger", str(SAMPLE_LEDGER), "-o", str(out)]
    )
    assert result.exit_code == 0, result.stderr
    document = json.loads(out.read_text())
    decisions = [e["decision"] for e in document["evaluations"]]
    allowed = sum(decisions)
    assert result.stderr == (
        f"{len(decisions)} requests: {allowed} allowed, {len(decisions) - allowed} denied "
        f"(written to {out})\n"
    )
