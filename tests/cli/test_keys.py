"""`ztauth keys generate`: 0600 private keys, atomic no-clobber writes, stable JWKS files."""

from __future__ import annotations

import json
import stat
from pathlib import Path

import pytest
from typer.testing import CliRunner

from tests.support.repo import write_files
from ztauth_cli import jose
from ztauth_cli.cli.main import app


def _generate(runner: CliRunner, *args: str) -> tuple[int, str, str]:
    result = runner.invoke(app, ["keys", "generate", *args])
    return result.exit_code, result.stdout, result.stderr


@pytest.mark.parametrize("alg", ["EdDSA", "ES256", "PS256"])
def test_generate_writes_0600_key_and_public_jwk(
    runner: CliRunner, tmp_path: Path, alg: str
) -> None:
    out, jwks = tmp_path / "signer.pem", tmp_path / "keys" / "signers.jwks.json"
    jwks.parent.mkdir()
    code, stdout, stderr = _generate(runner, "--alg", alg, "--out", str(out), "--jwks", str(jwks))
    assert code == 0, stderr
    assert stat.S_IMODE(out.stat().st_mode) == 0o600
    kid = stdout.strip()
    handle = jose.load_private_key_pem(out.read_bytes())
    public = jose.public_jwk_for(handle, alg=alg)
    assert public["kid"] == kid  # default kid: the RFC 7638 thumbprint
    document = json.loads(jwks.read_text())
    assert document == {"keys": [public]}
    assert jose.validate_public_jwk(document["keys"][0]) is None
    assert jwks.read_text() == json.dumps(document, indent=2, sort_keys=True) + "\n"
    assert "inside the ledger" not in stderr


def test_refuses_to_overwrite_without_force(runner: CliRunner, tmp_path: Path) -> None:
    out = tmp_path / "k.pem"
    assert _generate(runner, "--out", str(out))[0] == 0
    before = out.read_bytes()
    code, _, stderr = _generate(runner, "--out", str(out))
    assert code == 2
    assert stderr == (
        f"error: {out} already exists; refusing to overwrite a private key\nhint: pass --force\n"
    )
    assert out.read_bytes() == before
    code, _, _ = _generate(runner, "--out", str(out), "--force", "--alg", "ES256")
    assert code == 0
    assert out.read_bytes() != before
    assert stat.S_IMODE(out.stat().st_mode) == 0o600
    assert [p.name for p in tmp_path.iterdir()] == ["k.pem"]  # no temp files left behind


def test_same_kid_replaces_the_key_and_keys_stay_sorted(runner: CliRunner, tmp_path: Path) -> None:
    jwks = tmp_path / "idp.jwks.json"
    for kid, name in (("b", "1"), ("a", "2"), ("b", "3")):
        out = tmp_path / f"{name}.pem"
        code, stdout, _ = _generate(runner, "--kid", kid, "--out", str(out), "--jwks", str(jwks))
        assert (code, stdout) == (0, f"{kid}\n")
    keys = json.loads(jwks.read_text())["keys"]
    assert [k["kid"] for k in keys] == ["a", "b"]
    latest = jose.public_jwk_for(jose.load_private_key_pem((tmp_path / "3.pem").read_bytes()))
    assert keys[1]["x"] == latest["x"]


def test_warns_when_the_private_key_is_inside_a_ledger(runner: CliRunner, tmp_path: Path) -> None:
    write_files(tmp_path, {"ztauth.yaml": "apiVersion: ztauth/v1\nkind: Ledger\n"})
    (tmp_path / "keys").mkdir()
    out = tmp_path / "keys" / "oops.pem"
    code, _, stderr = _generate(runner, "--out", str(out))
    assert code == 0
    assert f"warning: {out} is inside the ledger at {tmp_path.resolve()}" in stderr


def test_bad_jwks_leaves_no_private_key(runner: CliRunner, tmp_path: Path) -> None:
    jwks = tmp_path / "bad.jwks.json"
    jwks.write_text("[1, 2]\n")
    out = tmp_path / "k.pem"
    code, _, stderr = _generate(runner, "--out", str(out), "--jwks", str(jwks))
    assert code == 2
    assert stderr.startswith(f'error: {jwks}:1:1: not a JWKS: expected {{"keys": [...]}}')
    assert not out.exists()


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("--alg", "HS256"), "--alg 'HS256': expected one of EdDSA, ES256"),
        (("--alg", "none"), "--alg 'none': expected one of"),
    ],
    ids=["hmac", "none"],
)
def test_bad_options(
    runner: CliRunner, tmp_path: Path, args: tuple[str, ...], message: str
) -> None:
    code, _, stderr = _generate(runner, "--out", str(tmp_path / "k.pem"), *args)
    assert code == 2
    assert message in stderr
    assert not (tmp_path / "k.pem").exists()


def test_missing_out_folders_are_created_private(runner: CliRunner, tmp_path: Path) -> None:
    tmp_path.chmod(0o755)
    out = tmp_path / "no" / "such" / "k.pem"
    code, _, stderr = _generate(runner, "--out", str(out))
    assert code == 0, stderr
    assert stat.S_IMODE(out.stat().st_mode) == 0o600
    # Every folder made for a private key is 0700, whatever the umask.
    assert stat.S_IMODE((tmp_path / "no").stat().st_mode) == 0o700
    assert stat.S_IMODE((tmp_path / "no" / "such").stat().st_mode) == 0o700
    # An existing folder keeps its mode.
    assert stat.S_IMODE(tmp_path.stat().st_mode) == 0o755


def test_out_under_a_file_is_exit_2(runner: CliRunner, tmp_path: Path) -> None:
    (tmp_path / "plain").write_text("x")
    code, _, stderr = _generate(runner, "--out", str(tmp_path / "plain" / "k.pem"))
    assert code == 2
    assert "is not a folder" in stderr


def test_missing_jwks_folder_is_created_before_anything_is_written(
    runner: CliRunner, tmp_path: Path
) -> None:
    out = tmp_path / "k" / "x.pem"
    jwks = tmp_path / "ledger" / "keys" / "x.jwks.json"
    code, kid, stderr = _generate(runner, "--out", str(out), "--jwks", str(jwks))
    assert code == 0, stderr
    assert [k["kid"] for k in json.loads(jwks.read_text())["keys"]] == [kid.strip()]


def test_jwks_under_a_file_refuses_before_writing_the_private_key(
    runner: CliRunner, tmp_path: Path
) -> None:
    (tmp_path / "plain").write_text("x")
    out = tmp_path / "k.pem"
    code, _, stderr = _generate(
        runner, "--out", str(out), "--jwks", str(tmp_path / "plain" / "x.json")
    )
    assert code == 2
    assert stderr.strip() == f"error: --jwks: {tmp_path / 'plain'} is not a folder"
    assert not out.exists()


def test_generate_encrypt_writes_a_passphrase_protected_key_that_signs(
    runner: CliRunner, tmp_path: Path
) -> None:
    key = tmp_path / "secret" / "release.pem"
    jwks = tmp_path / "signers.jwks.json"
    args = ["keys", "generate", "--encrypt", "--out", str(key), "--jwks", str(jwks)]
    refused = runner.invoke(app, args, env={"ZTAUTH_KEY_PASSPHRASE": None})
    assert refused.exit_code == 2
    assert "--encrypt needs a passphrase: set ZTAUTH_KEY_PASSPHRASE" in refused.stderr
    assert not key.exists()
    assert not jwks.exists()

    made = runner.invoke(app, args, env={"ZTAUTH_KEY_PASSPHRASE": "pass phrase"})
    assert made.exit_code == 0, made.stderr
    assert f"wrote private key {key} (encrypted, mode 0600)" in made.stderr
    assert key.read_bytes().startswith(b"-----BEGIN ENCRYPTED PRIVATE KEY-----")
    # The same passphrase unlocks it for token mint.
    mint = ["token", "mint", "--issuer", "https://idp.example", "--key", str(key)]
    assert runner.invoke(app, mint, env={"ZTAUTH_KEY_PASSPHRASE": "pass phrase"}).exit_code == 0
    wrong = runner.invoke(app, mint, env={"ZTAUTH_KEY_PASSPHRASE": "other"})
    assert wrong.exit_code == 2
    assert "wrong passphrase" in wrong.stderr
