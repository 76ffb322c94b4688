"""`ztauth policy sign` and `ztauth policy verify` through the CLI."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from tests.support.repo import LedgerRepo, write_files
from tests.support.schemas import assert_valid, report_body
from tests.support.signing import ZTID, jwks, minimal_ledger
from ztauth_cli import jose
from ztauth_cli.cli.main import app
from ztauth_cli.ledger.signing.hash import digest


@pytest.fixture(scope="module")
def keys() -> dict[str, jose.KeyPair]:
    return {
        "ed": jose.generate_key("EdDSA", kid="ed"),
        "es": jose.generate_key("ES256", kid="es"),
        "ps": jose.generate_key("PS256", kid="ps"),
    }


@pytest.fixture
def pems(tmp_path: Path, keys: dict[str, jose.KeyPair]) -> dict[str, Path]:
    folder = tmp_path / "private"
    folder.mkdir()
    paths = {}
    for name, key in keys.items():
        paths[name] = folder / f"{name}.pem"
        paths[name].write_bytes(key.private_pem)
    return paths


def _ledger(root: Path, *signers: jose.KeyPair, require: int = 0) -> Path:
    write_files(root, minimal_ledger(signers, require=require))
    return root


def _sign(runner: CliRunner, root: Path, pem: Path, *extra: str) -> None:
    result = runner.invoke(
        app, ["policy", "sign", "--key", str(pem), "--ledger", str(root), *extra]
    )
    assert result.exit_code == 0, result.stderr


def test_sign_then_verify(
    runner: CliRunner, tmp_path: Path, keys: dict[str, jose.KeyPair], pems: dict[str, Path]
) -> None:
    root = _ledger(tmp_path / "ledger", keys["ed"])
    result = runner.invoke(app, ["policy", "sign", "--key", str(pems["ed"]), "--ledger", str(root)])
    assert result.exit_code == 0, result.stderr
    assert result.stdout == (
        f"signed 3 files of {ZTID} with key ed (EdDSA); .signatures.json holds 1 signature(s)\n"
    )
    assert result.stderr == ""

    result = runner.invoke(app, ["policy", "verify", "--ledger", str(root)])
    assert result.exit_code == 0, result.stdout
    lines = result.stdout.splitlines()
    assert lines[0] == f"ledger {ZTID} (working tree)"
    assert lines[1] == "signer keys: keys/signers.jwks.json; 3 signed files"
    assert lines[2].startswith("signature 1: kid ed, alg EdDSA, iss ed, signed ")
    assert lines[2].endswith(": valid")
    # The manifest requires none: verify says so rather than citing a minimum of its own.
    assert lines[-1] == (
        "verified: 1 distinct signer(s) (ed), 1 required to call it verified "
        "(settings.require_signatures is 0: eval and test do not check signatures); 3 files"
    )


def test_verify_json_lists_changed_files(
    runner: CliRunner, tmp_path: Path, keys: dict[str, jose.KeyPair], pems: dict[str, Path]
) -> None:
    root = _ledger(tmp_path / "ledger", keys["ed"])
    _sign(runner, root, pems["ed"], "--issuer", "security-team")
    signed = digest((root / "policies/read.cedar").read_bytes())
    (root / "policies/read.cedar").write_text("// edited after review\n")
    write_files(
        root, {"trust/extra.yaml": "apiVersion: ztauth/v1\nkind: TrustLevel\nname: x\nrank: 9\n"}
    )

    result = runner.invoke(app, ["policy", "verify", "--ledger", str(root), "--format", "json"])
    assert result.exit_code == 1
    document = json.loads(result.stdout)
    assert_valid(document, "verify-report")
    issued_at = document["signatures"][0].pop("issued_at")
    assert isinstance(issued_at, int)
    changed = {
        "path": "policies/read.cedar",
        "change": "changed",
        "expected": signed,
        "actual": digest(b"// edited after review\n"),
    }
    added = {
        "path": "trust/extra.yaml",
        "change": "added",
        "expected": None,
        "actual": digest((root / "trust/extra.yaml").read_bytes()),
    }
    problems = [
        f"policies/read.cedar: changed since signing (expected {signed}, "
        f"actual {changed['actual']})",
        "trust/extra.yaml: added since signing (not covered by the signature)",
    ]
    assert report_body(document, "ztauth policy verify") == {
        "ledger": ZTID,
        "revision": None,
        "verified": False,
        "state": "invalid",
        "summary": f"not verified: signature 1 (kid ed): {problems[0]} (and 2 more problem(s))",
        "required": 1,
        "valid_signers": [],
        "signers_jwks": "keys/signers.jwks.json",
        "files": 4,
        "signatures": [
            {
                "index": 1,
                "kid": "ed",
                "alg": "EdDSA",
                "issuer": "security-team",
                "valid": False,
                "problems": problems,
                "changes": [changed, added],
            }
        ],
        "problems": [
            *(f"signature 1 (kid ed): {p}" for p in problems),
            "0 valid distinct signer(s), 1 required to call it verified "
            "(settings.require_signatures is 0: eval and test do not check signatures)",
        ],
        "base": None,  # not a Git repository: no earlier gate to compare with
    }


def test_quorum_through_the_cli(
    runner: CliRunner, tmp_path: Path, keys: dict[str, jose.KeyPair], pems: dict[str, Path]
) -> None:
    root = _ledger(tmp_path / "ledger", keys["ed"], keys["es"], keys["ps"], require=2)
    _sign(runner, root, pems["ed"])
    _sign(runner, root, pems["ed"])  # re-signing replaces its own signature
    result = runner.invoke(app, ["policy", "verify", "--ledger", str(root)])
    assert result.exit_code == 1
    assert result.stdout.splitlines()[-1] == (
        "not verified: 1 valid distinct signer(s), 2 required by settings.require_signatures"
    )
    _sign(runner, root, pems["ps"])  # an RSA key listed as PS256 in the JWKS signs PS256
    result = runner.invoke(app, ["policy", "verify", "--ledger", str(root), "-f", "json"])
    assert result.exit_code == 0, result.stdout
    document = json.loads(result.stdout)
    assert_valid(document, "verify-report")
    assert document["valid_signers"] == ["ed", "ps"]
    assert [s["alg"] for s in document["signatures"]] == ["EdDSA", "PS256"]


def test_verify_a_revision_and_with_jwks(
    runner: CliRunner,
    ledger_repo: LedgerRepo,
    tmp_path: Path,
    keys: dict[str, jose.KeyPair],
    pems: dict[str, Path],
) -> None:
    root = _ledger(ledger_repo.root, keys["ed"])
    _sign(runner, root, pems["es"], "--kid", "es")  # es is no trusted signer of this ledger ...
    ledger_repo.commit("signed")
    (root / "policies/read.cedar").write_text("// edited\n")
    trusted = tmp_path / "ci.jwks.json"
    trusted.write_text(jwks(keys["es"].public_jwk))

    base = ["policy", "verify", "--ledger", str(root)]
    result = runner.invoke(app, [*base, "--rev", "HEAD"])
    assert result.exit_code == 1
    assert (
        "signature 1 (kid es): unknown key 'es' (not a trusted signer in keys/signers.jwks.json)"
        in result.stdout
    )
    # ... but CI may hold its own list of trusted signers.
    result = runner.invoke(app, [*base, "--rev", "HEAD", "--jwks", str(trusted), "-f", "json"])
    assert result.exit_code == 0, result.stdout
    document = json.loads(result.stdout)
    assert document["revision"] == ledger_repo.repo.head().decode()
    assert document["signers_jwks"] == str(trusted)
    result = runner.invoke(app, [*base, "--jwks", str(trusted)])
    assert result.exit_code == 1  # the working tree was edited after signing


def test_sign_warns_when_the_key_is_not_a_trusted_signer(
    runner: CliRunner, tmp_path: Path, keys: dict[str, jose.KeyPair], pems: dict[str, Path]
) -> None:
    root = _ledger(tmp_path / "ledger", keys["ed"])
    result = runner.invoke(app, ["policy", "sign", "--key", str(pems["es"]), "--ledger", str(root)])
    assert result.exit_code == 0
    thumbprint = jose.jwk_thumbprint(keys["es"].public_jwk)  # the kid when none is known
    assert result.stderr == (
        f"warning: key {thumbprint} is not in keys/signers.jwks.json; "
        "'policy verify' will report it as unknown until its public JWK is added there\n"
    )


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (
            b"my-shared-hmac-secret",
            "not a PEM private key; HMAC secrets and raw keys are refused",
        ),
        (
            b"-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n",
            "not a PEM private key",
        ),
    ],
    ids=["hmac-secret", "garbage-pem"],
)
def test_sign_refuses_what_is_not_an_asymmetric_private_key(
    runner: CliRunner, tmp_path: Path, keys: dict[str, jose.KeyPair], content: bytes, message: str
) -> None:
    root = _ledger(tmp_path / "ledger", keys["ed"])
    key = tmp_path / "secret.key"
    key.write_bytes(content)
    result = runner.invoke(app, ["policy", "sign", "--key", str(key), "--ledger", str(root)])
    assert result.exit_code == 2
    assert result.stderr.startswith(f"error: {key}:1:1: {message}")
    assert not (root / ".signatures.json").exists()


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["policy", "verify", "--format", "markdown"], "does not support --format markdown"),
        (["policy", "verify", "--rev", "no-such-tag"], "unknown revision 'no-such-tag'"),
        (["policy", "verify", "--jwks", "missing.jwks.json"], "missing.jwks.json:1:1: cannot read"),
        (["policy", "sign", "--key", "missing.pem"], "missing.pem:1:1: cannot read the key"),
        (["policy", "sign", "--key", "{ed}", "--alg", "HS256"], "algorithm 'HS256' is not allowed"),
    ],
    ids=["format", "rev", "jwks", "key-file", "hmac-alg"],
)
def test_usage_errors_exit_2(
    runner: CliRunner,
    ledger_repo: LedgerRepo,
    keys: dict[str, jose.KeyPair],
    pems: dict[str, Path],
    args: list[str],
    message: str,
) -> None:
    root = _ledger(ledger_repo.root, keys["ed"])
    ledger_repo.commit("ledger")
    args = [a.replace("{ed}", str(pems["ed"])) for a in args]
    result = runner.invoke(app, [*args, "--ledger", str(root)])
    assert result.exit_code == 2, result.stdout
    assert result.stderr.startswith("error: ")
    assert message in result.stderr


def test_no_ledger_exits_2(runner: CliRunner, tmp_path: Path) -> None:
    result = runner.invoke(app, ["policy", "verify", "--ledger", str(tmp_path)])
    assert result.exit_code == 2
    assert result.stderr.startswith("error: no ztauth.yaml in ")


def test_an_encrypted_signing_key_takes_its_passphrase_from_the_environment(
    runner: CliRunner, tmp_path: Path, keys: dict[str, jose.KeyPair]
) -> None:
    root = _ledger(tmp_path / "ledger", keys["ed"])
    pem = tmp_path / "encrypted.pem"
    pem.write_bytes(jose.encrypt_private_pem(keys["ed"].private_pem, b"correct horse"))
    args = ["policy", "sign", "--key", str(pem), "--ledger", str(root)]

    missing = runner.invoke(app, args, env={"ZTAUTH_KEY_PASSPHRASE": None})
    assert missing.exit_code == 2
    assert f"{pem}:1:1: the private key is encrypted and no passphrase was given" in missing.stderr
    assert "hint: set ZTAUTH_KEY_PASSPHRASE" in missing.stderr
    assert not (root / ".signatures.json").exists()

    wrong = runner.invoke(app, args, env={"ZTAUTH_KEY_PASSPHRASE": "battery staple"})
    assert wrong.exit_code == 2
    assert "wrong passphrase for the encrypted private key" in wrong.stderr

    right = runner.invoke(app, args, env={"ZTAUTH_KEY_PASSPHRASE": "correct horse"})
    assert right.exit_code == 0, right.stderr
    verified = runner.invoke(app, ["policy", "verify", "--ledger", str(root)])
    assert verified.exit_code == 0, verified.stdout


def test_token_mint_with_an_encrypted_key(
    runner: CliRunner, tmp_path: Path, keys: dict[str, jose.KeyPair]
) -> None:
    pem = tmp_path / "encrypted.pem"
    pem.write_bytes(jose.encrypt_private_pem(keys["ed"].private_pem, b"s3cret"))
    args = ["token", "mint", "--issuer", "https://idp.example", "--key", str(pem)]
    refused = runner.invoke(app, args, env={"ZTAUTH_KEY_PASSPHRASE": None})
    assert refused.exit_code == 2
    assert "no passphrase was given" in refused.stderr
    minted = runner.invoke(app, args, env={"ZTAUTH_KEY_PASSPHRASE": "s3cret"})
    assert minted.exit_code == 0, minted.stderr
    header, _claims = jose.decode_unverified(minted.stdout.strip())
    assert header["alg"] == "EdDSA"
