"""`ztauth token mint|inspect` end to end: keys from `keys generate`, a real ledger on disk."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from tests.support.ledgers import issuer_doc, jwks, manifest, write_ledger
from tests.support.repo import LedgerRepo
from ztauth_cli import jose
from ztauth_cli.cli.main import app

ZTID = "ztauth://acme.internal/273165098782/ledgers/tokens"
IDP = "https://idp.acme.internal"
AT = "2026-06-01T12:00:00Z"

MANIFEST = manifest(ZTID, name="tokens")

ISSUER = issuer_doc(
    IDP,
    jwks="keys/idp.jwks.json",
    algorithms=["EdDSA", "ES256"],
    audience=ZTID,
    issues=["txn", "consent", "subject"],
)


@pytest.fixture(scope="module")
def setup(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """A ledger whose issuer JWKS was filled by `ztauth keys generate`; keys kept outside."""
    base = tmp_path_factory.mktemp("tokens")
    ledger = base / "ledger"
    write_ledger(ledger, manifest=MANIFEST, trust={"issuers": ISSUER})
    secrets = base / "secrets"
    secrets.mkdir()
    runner = CliRunner()
    for name, alg in (("ed", "EdDSA"), ("ec", "ES256"), ("rsa", "RS256")):
        jwks = ledger / "keys" / "idp.jwks.json" if name != "rsa" else base / "other.jwks.json"
        jwks.parent.mkdir(exist_ok=True)
        out = secrets / f"{name}.pem"
        args = ["keys", "generate", "--alg", alg, "--out", str(out), "--jwks", str(jwks)]
        result = runner.invoke(app, args)
        assert result.exit_code == 0, result.stderr
    return {"ledger": ledger, "secrets": secrets, "base": base}


def _mint(runner: CliRunner, key: Path, *extra: str) -> str:
    result = runner.invoke(
        app,
        ["token", "mint", "--issuer", IDP, "--key", str(key), "--at", AT, *extra],
    )
    assert result.exit_code == 0, result.stderr
    token = result.stdout.strip()
    assert token.count(".") == 2
    return token


def _inspect(
    runner: CliRunner, token: str, ledger: Path | None, *extra: str, input: str | None = None
) -> tuple[int, dict[str, Any], str]:
    args = ["token", "inspect", token, "--format", "json", "--at", AT, *extra]
    if ledger is not None:
        args += ["--ledger", str(ledger)]
    result = runner.invoke(app, args, input=input)
    out = json.loads(result.stdout) if result.stdout.strip() else {}
    return result.exit_code, out, result.stderr


@pytest.mark.parametrize("key", ["ed", "ec"])
def test_mint_then_inspect_verifies(runner: CliRunner, setup: dict[str, Path], key: str) -> None:
    token = _mint(
        runner,
        setup["secrets"] / f"{key}.pem",
        "--claim",
        "sub=alice",
        "--claim",
        'act={"sub": "spiffe://acme.internal/assistant/chat"}',
        "--claim",
        "txn=42",
        "--scope",
        "read summarize",
        "--audience",
        ZTID,
        "--expires-in",
        "10m",
    )
    code, out, _ = _inspect(runner, token, setup["ledger"])
    assert code == 0
    assert out["verified"] is True
    assert out["reason"] is None
    assert out["issuer"] == IDP
    assert out["ledger"] == ZTID
    assert out["claims"] == {
        "iss": IDP,
        "sub": "alice",
        "act": {"sub": "spiffe://acme.internal/assistant/chat"},
        "txn": 42,
        "scope": "read summarize",
        "aud": ZTID,
        "iat": 1780315200,
        "exp": 1780315800,
    }
    assert out["times"]["exp"] == {
        "value": 1780315800,
        "time": "2026-06-01T12:10:00Z",
        "relative": "in 10m",
    }
    assert out["header"]["alg"] == ("EdDSA" if key == "ed" else "ES256")
    # The default kid is the thumbprint, the same one `keys generate` put in the JWKS.
    jwks = json.loads((setup["ledger"] / "keys" / "idp.jwks.json").read_text())
    assert out["header"]["kid"] in {k["kid"] for k in jwks["keys"]}


def test_inspect_text_output(runner: CliRunner, setup: dict[str, Path]) -> None:
    token = _mint(runner, setup["secrets"] / "ed.pem", "--audience", ZTID, "--claim", "sub=bob")
    result = runner.invoke(
        app,
        ["token", "inspect", token, "--ledger", str(setup["ledger"]), "--at", AT],
    )
    assert result.exit_code == 0
    assert f"verified: issuer {IDP}" in result.stdout
    assert "exp: 1780318800  (2026-06-01T13:00:00Z, in 1h)" in result.stdout
    assert "iat: 1780315200  (2026-06-01T12:00:00Z, now)" in result.stdout


def test_inspect_reads_stdin(runner: CliRunner, setup: dict[str, Path]) -> None:
    token = _mint(runner, setup["secrets"] / "ed.pem", "--audience", ZTID)
    code, out, _ = _inspect(runner, "-", setup["ledger"], input=token + "\n")
    assert (code, out["verified"]) == (0, True)


@pytest.mark.parametrize(
    ("mint_args", "inspect_at", "reason"),
    [
        ((), "2026-06-01T14:00:00Z", "token expired at 2026-06-01T13:00:00Z"),
        (("--audience", "someone-else"), AT, "wrong audience: token is for someone-else"),
        (("--audience", ZTID, "--claim", "iss=https://evil"), AT, "issuer 'https://evil' is not"),
        (("--audience", ZTID, "--kid", "nope"), AT, "unknown kid 'nope'"),
    ],
    ids=["expired", "audience", "issuer", "kid"],
)
def test_inspect_failures_exit_1(
    runner: CliRunner,
    setup: dict[str, Path],
    mint_args: tuple[str, ...],
    inspect_at: str,
    reason: str,
) -> None:
    token = _mint(runner, setup["secrets"] / "ed.pem", *mint_args)
    code, out, _ = _inspect(runner, token, setup["ledger"], "--at", inspect_at)
    assert code == 1
    assert out["verified"] is False
    assert reason in out["reason"]


def test_key_outside_issuer_jwks_does_not_verify(runner: CliRunner, setup: dict[str, Path]) -> None:
    token = _mint(runner, setup["secrets"] / "rsa.pem", "--audience", ZTID)
    code, out, _ = _inspect(runner, token, setup["ledger"])
    assert code == 1
    assert out["reason"].startswith(f"algorithm 'RS256' is not allowed for issuer {IDP}")


def test_no_ledger(
    runner: CliRunner, setup: dict[str, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(setup["secrets"])
    token = _mint(runner, setup["secrets"] / "ed.pem")
    result = runner.invoke(app, ["token", "inspect", token, "--at", AT])
    assert result.exit_code == 1
    assert "not verified: no ledger" in result.stdout
    assert 'iss: "https://idp.acme.internal"' in result.stdout


def test_explicit_missing_ledger_is_exit_2(runner: CliRunner, setup: dict[str, Path]) -> None:
    token = _mint(runner, setup["secrets"] / "ed.pem")
    result = runner.invoke(app, ["token", "inspect", token, "--ledger", str(setup["secrets"])])
    assert result.exit_code == 2
    assert "no ztauth.yaml" in result.stderr


@pytest.mark.parametrize(
    ("token", "message"),
    [
        ("not-a-token", "malformed token: expected 3 dot-separated parts"),
        ("e30.e30.!!", "malformed token: the signature is not base64url"),
        ("", "no token given"),
    ],
    ids=["parts", "signature", "empty"],
)
def test_inspect_malformed_exit_2(runner: CliRunner, token: str, message: str) -> None:
    result = runner.invoke(app, ["token", "inspect", token])
    assert result.exit_code == 2
    assert result.stderr.startswith("error: ")
    assert message in result.stderr


def test_inspect_against_a_git_revision(
    runner: CliRunner, setup: dict[str, Path], ledger_repo: LedgerRepo
) -> None:
    jwks = (setup["ledger"] / "keys" / "idp.jwks.json").read_text()
    ledger_repo.write({"ztauth.yaml": MANIFEST, "trust/issuers.yaml": ISSUER})
    ledger_repo.write({"keys/idp.jwks.json": jwks})
    ledger_repo.commit("issuer with keys")
    # The working tree then loses the JWKS: only the committed revision still verifies.
    (ledger_repo.root / "keys" / "idp.jwks.json").write_text('{"keys": []}\n')
    token = _mint(runner, setup["secrets"] / "ed.pem", "--audience", ZTID)
    code, out, _ = _inspect(runner, token, ledger_repo.root, "--rev", "HEAD")
    assert (code, out["verified"]) == (0, True)
    assert out["revision"] is not None
    code, out, _ = _inspect(runner, token, ledger_repo.root)
    assert code == 1
    assert out["reason"].startswith("unknown kid")


def test_mint_claim_values(runner: CliRunner, setup: dict[str, Path]) -> None:
    token = _mint(
        runner,
        setup["secrets"] / "ed.pem",
        "--claim",
        "n=5",
        "--claim",
        "s=hello world",
        "--claim",
        "flag=true",
        "--claim",
        "list=[1,2]",
        "--claim",
        "eq=a=b",
        "--expires-in",
        "-1h",
    )
    _, claims = jose.decode_unverified(token)
    assert claims["n"] == 5
    assert claims["s"] == "hello world"
    assert claims["flag"] is True
    assert claims["list"] == [1, 2]
    assert claims["eq"] == "a=b"
    assert claims["exp"] == claims["iat"] - 3600


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("--claim", "novalue"), "--claim 'novalue': expected NAME=VALUE"),
        (("--alg", "ES256"), "a EdDSA key cannot sign with algorithm 'ES256'"),
        (("--alg", "HS256"), "HMAC algorithm 'HS256' refused"),
        (("--expires-in", "soon"), "--expires-in: invalid duration 'soon'"),
        (("--at", "yesterday"), "--at: "),
    ],
    ids=["claim", "alg-mismatch", "hmac", "duration", "at"],
)
def test_mint_bad_input_exit_2(
    runner: CliRunner, setup: dict[str, Path], args: tuple[str, ...], message: str
) -> None:
    key = setup["secrets"] / "ed.pem"
    result = runner.invoke(app, ["token", "mint", "--issuer", IDP, "--key", str(key), *args])
    assert result.exit_code == 2
    assert message in result.stderr


def test_mint_bad_key_file(runner: CliRunner, tmp_path: Path) -> None:
    bad = tmp_path / "bad.pem"
    bad.write_text("not a key\n")
    result = runner.invoke(app, ["token", "mint", "--issuer", IDP, "--key", str(bad)])
    assert result.exit_code == 2
    assert result.stderr.startswith(f"error: {bad}:1:1: not a PEM private key")
    result = runner.invoke(
        app, ["token", "mint", "--issuer", IDP, "--key", str(tmp_path / "missing.pem")]
    )
    assert result.exit_code == 2
    assert "cannot read the private key" in result.stderr


def test_kind_must_be_one_the_issuer_issues(runner: CliRunner, setup: dict[str, Path]) -> None:
    from datetime import datetime, timezone

    from ztauth_cli.engine.tokens import Keyring, ledger_key_sets
    from ztauth_cli.ledger import load

    token = _mint(runner, setup["secrets"] / "ed.pem", "--audience", ZTID)
    code, out, _ = _inspect(runner, token, setup["ledger"], "--kind", "consent")
    assert (code, out["verified"]) == (0, True)
    assert "issuer may issue consent tokens (consent, subject, txn)" in out["checks"]
    code, out, _ = _inspect(runner, token, setup["ledger"], "--kind", "attestation")
    assert (code, out["verified"], out["issuer"]) == (1, False, IDP)
    refused = f"issuer '{IDP}' may not issue attestation tokens (it issues: consent, subject, txn)"
    assert out["reason"] == refused
    # The engine (what eval asks) says the same of the same token.
    ledger = load(setup["ledger"])
    keyring = Keyring(ledger.issuers, ledger_key_sets(ledger))
    now = datetime(2026, 6, 1, 12, tzinfo=timezone.utc)
    with pytest.raises(jose.TokenError) as caught:
        keyring.verify("attestation", token, now=now)
    assert caught.value.message == refused
    assert keyring.verify("consent", token, now=now).issuer == IDP


def test_bad_kind_is_exit_2(runner: CliRunner, setup: dict[str, Path]) -> None:
    token = _mint(runner, setup["secrets"] / "ed.pem", "--audience", ZTID)
    result = runner.invoke(
        app, ["token", "inspect", token, "--ledger", str(setup["ledger"]), "--kind", "id"]
    )
    assert result.exit_code == 2
    assert "--kind 'id': expected one of txn, consent, attestation, subject" in result.stderr


def test_exp_is_optional_only_for_attestations(tmp_path: Path, runner: CliRunner) -> None:
    from datetime import datetime, timezone

    attest, idp = jose.generate_key("EdDSA"), jose.generate_key("EdDSA")
    ledger = write_ledger(
        tmp_path / "ledger",
        manifest=MANIFEST,
        trust={
            "attest": issuer_doc(
                "https://attest",
                jwks="keys/attest.jwks.json",
                algorithms=["EdDSA"],
                issues=["attestation"],
            ),
            "idp": issuer_doc(IDP, jwks="keys/idp.jwks.json", algorithms=["EdDSA"], issues=["txn"]),
        },
        keys={"attest": jwks(attest.public_jwk), "idp": jwks(idp.public_jwk)},
    )
    iat = int(datetime(2026, 6, 1, 11, 59, tzinfo=timezone.utc).timestamp())
    evidence = jose.sign(
        {"iss": "https://attest", "sub": "w", "iat": iat},
        attest.private_pem,
        alg="EdDSA",
        kid=attest.kid,
    )
    assert _inspect(runner, evidence, ledger)[0] == 0
    assert _inspect(runner, evidence, ledger, "--kind", "attestation")[0] == 0
    no_exp = jose.sign(
        {"iss": IDP, "sub": "w", "iat": iat}, idp.private_pem, alg="EdDSA", kid=idp.kid
    )
    code, out, _ = _inspect(runner, no_exp, ledger)
    assert (code, out["verified"]) == (1, False)
    assert "exp" in out["reason"]
    code, out, _ = _inspect(runner, no_exp, ledger, "--kind", "txn")
    assert (code, out["verified"]) == (1, False)


def test_inspect_trusts_jwks_as_eval_does(
    runner: CliRunner, setup: dict[str, Path], tmp_path: Path
) -> None:
    extra = tmp_path / "staging.jwks.json"
    pem = tmp_path / "staging.pem"
    made = runner.invoke(app, ["keys", "generate", "--out", str(pem), "--jwks", str(extra)])
    assert made.exit_code == 0, made.stderr
    token = _mint(runner, pem, "--claim", "sub=alice", "--audience", ZTID, "--scope", "read")

    code, out, _ = _inspect(runner, token, setup["ledger"])
    assert code == 1
    assert out["verified"] is False
    assert "kid" in out["reason"]

    code, out, _ = _inspect(runner, token, setup["ledger"], "--jwks", str(extra))
    assert code == 0, out
    assert out["verified"] is True
    assert out["checks"][0] == f"signature by key {out['header']['kid']} of {extra}"

    # The same keys, the same verdict: eval accepts the token with the same --jwks.
    request = tmp_path / "request.json"
    request.write_text(
        json.dumps(
            {
                "subject": {"type": "User", "id": "alice"},
                "action": {"name": "read"},
                "resource": {"type": "Document", "id": "d"},
                "authorization_model": {"tokens": {"txn": token}},
            }
        )
    )
    args = ["eval", str(request), "--ledger", str(setup["ledger"]), "--at", AT, "-f", "json"]
    without = json.loads(runner.invoke(app, args).stdout)
    with_jwks = json.loads(runner.invoke(app, [*args, "--jwks", str(extra)]).stdout)
    codes = [r["context"]["reason_admin"]["code"] for r in (without, with_jwks)]
    assert codes[0] == "invalid_token"
    assert codes[1] != "invalid_token"


def test_inspect_refuses_a_jwks_with_private_keys(
    runner: CliRunner, setup: dict[str, Path], tmp_path: Path
) -> None:
    private = tmp_path / "private.jwks.json"
    public = jose.generate_key("EdDSA").public_jwk
    private.write_text(json.dumps({"keys": [{**public, "d": "c2VjcmV0"}]}))
    token = _mint(runner, setup["secrets"] / "ed.pem", "--claim", "sub=alice")
    code, _, stderr = _inspect(runner, token, setup["ledger"], "--jwks", str(private))
    assert code == 2
    assert str(private) in stderr
