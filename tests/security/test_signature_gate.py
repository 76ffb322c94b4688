"""Who controls the signature gate: attacks on `eval`, `test`, `policy verify|diff|version bump`.

The attacker edits the ledger's files (a pull request, a compromised branch) but does not hold
the release signers' private keys, nor the pinned signers JWKS kept outside the ledger. Every
key here is generated at test time, every signature is a real JWS, every history a real Git
repository (dulwich).
"""

from __future__ import annotations

import base64
import json
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from tests.support.repo import LedgerRepo, write_files
from tests.support.signing import jwks, minimal_ledger, sign, write_signatures
from ztauth_cli import jose
from ztauth_cli.cli.main import app

PERMIT_ALL = '@id("everyone-everything")\npermit(principal, action, resource);\n'
DELETE = {
    "subject": {"type": "User", "id": "mallory"},
    "action": {"name": "delete"},
    "resource": {"type": "Document", "id": "d1"},
}
SCHEMA = """entity User;
entity Document;
action read appliesTo { principal: User, resource: Document };
"""
WIDER_SCHEMA = SCHEMA + "action delete appliesTo { principal: User, resource: Document };\n"


@pytest.fixture(scope="module")
def release() -> jose.KeyPair:
    """The release signer: its public key is pinned outside the ledger."""
    return jose.generate_key("EdDSA", kid="release")


@pytest.fixture(scope="module")
def second() -> jose.KeyPair:
    return jose.generate_key("ES256", kid="second")


@pytest.fixture(scope="module")
def mallory() -> jose.KeyPair:
    """The attacker's own key."""
    return jose.generate_key("EdDSA", kid="mallory")


@pytest.fixture(autouse=True)
def _no_ambient_pin(monkeypatch: pytest.MonkeyPatch) -> None:
    # A CI runner may export the pins; these tests set them explicitly.
    monkeypatch.delenv("ZTAUTH_SIGNERS_JWKS", raising=False)
    monkeypatch.delenv("ZTAUTH_REQUIRE_SIGNATURES", raising=False)


def _pin(folder: Path, *keys: jose.KeyPair) -> Path:
    """The signers JWKS kept outside the ledger (a CI secret, a protected path)."""
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "pinned-signers.jwks.json"
    path.write_text(jwks(*(k.public_jwk for k in keys)), encoding="utf-8")
    return path


def _signed_ledger(root: Path, *signers: jose.KeyPair, require: int = 1) -> Path:
    write_files(root, minimal_ledger(signers, require=require))
    for key in signers:
        sign(root, key)
    return root


def _request(folder: Path) -> str:
    path = folder / "delete.json"
    path.write_text(json.dumps(DELETE), encoding="utf-8")
    return str(path)


def _eval(runner: CliRunner, root: Path, *args: str, env: dict[str, str] | None = None) -> Any:
    result = runner.invoke(
        app,
        ["eval", "--ledger", str(root), "-f", "json", _request(root.parent), *args],
        env=env,
    )
    assert result.exit_code == 0, result.stderr
    return json.loads(result.stdout)


def _reason(response: Any) -> str:
    return str(response["context"]["reason_admin"]["code"])


def _set_manifest(root: Path, old: str, new: str) -> None:
    manifest = root / "ztauth.yaml"
    text = manifest.read_text(encoding="utf-8")
    assert old in text
    manifest.write_text(text.replace(old, new), encoding="utf-8")


# ----------------------------------------------------------------------------- item 3: the pin


def test_manifest_setting_require_signatures_zero_cannot_switch_off_pinned_gate(
    runner: CliRunner, tmp_path: Path, release: jose.KeyPair
) -> None:
    root = _signed_ledger(tmp_path / "ledger", release)
    pin = _pin(tmp_path / "ci", release)
    # The attack: a permit-all policy, and the manifest switches the gate off. No re-signing.
    (root / "policies/all.cedar").write_text(PERMIT_ALL, encoding="utf-8")
    _set_manifest(root, "require_signatures: 1", "require_signatures: 0")

    unpinned = _eval(runner, root)
    assert unpinned["decision"] is True  # the manifest alone decides: the gate is off

    pinned = _eval(runner, root, "--signers-jwks", str(pin))
    assert pinned["decision"] is False
    assert _reason(pinned) == "ledger_unverified"
    assert (
        "policies/all.cedar: added since signing" in (pinned["context"]["reason_admin"]["message"])
    )
    counted = _eval(runner, root, "--require-signatures", "1")
    assert (counted["decision"], _reason(counted)) == (False, "ledger_unverified")


def test_own_key_added_to_in_ledger_signers_is_not_trusted_when_signers_pinned(
    runner: CliRunner, tmp_path: Path, release: jose.KeyPair, mallory: jose.KeyPair
) -> None:
    root = _signed_ledger(tmp_path / "ledger", release)
    pin = _pin(tmp_path / "ci", release)
    # The attack: add one's own key to the in-ledger signers, add a policy, re-sign with it.
    (root / "keys/signers.jwks.json").write_text(
        jwks(release.public_jwk, mallory.public_jwk), encoding="utf-8"
    )
    (root / "policies/all.cedar").write_text(PERMIT_ALL, encoding="utf-8")
    write_signatures(root)
    sign(root, mallory)

    assert _eval(runner, root)["decision"] is True  # the ledger vouches for itself

    pinned = _eval(runner, root, "--signers-jwks", str(pin))
    assert (pinned["decision"], _reason(pinned)) == (False, "ledger_unverified")
    assert "unknown key 'mallory'" in pinned["context"]["reason_admin"]["message"]

    # The release key's own signature, made on the attacker's content, is what it takes.
    write_signatures(root)
    sign(root, release)
    assert _eval(runner, root, "--signers-jwks", str(pin))["decision"] is True


def test_pinned_signers_without_a_count_require_one_signature_on_an_ungated_ledger(
    runner: CliRunner, tmp_path: Path, release: jose.KeyPair
) -> None:
    root = tmp_path / "ledger"
    write_files(root, minimal_ledger((release,), require=0))
    (root / "policies/all.cedar").write_text(PERMIT_ALL, encoding="utf-8")
    pin = _pin(tmp_path / "ci", release)

    response = _eval(runner, root, "--signers-jwks", str(pin))
    assert (response["decision"], _reason(response)) == (False, "ledger_unverified")
    assert "unsigned" in response["context"]["reason_admin"]["message"]


def test_pinned_count_is_a_floor_the_manifest_cannot_lower(
    runner: CliRunner, tmp_path: Path, release: jose.KeyPair, second: jose.KeyPair
) -> None:
    root = _signed_ledger(tmp_path / "ledger", release, second, require=2)
    pin = _pin(tmp_path / "ci", release, second)
    (root / "policies/all.cedar").write_text(PERMIT_ALL, encoding="utf-8")
    _set_manifest(root, "require_signatures: 2", "require_signatures: 1")
    write_signatures(root)
    sign(root, release)  # one stolen or careless key signs the attack

    lowered = _eval(runner, root, "--signers-jwks", str(pin), "--require-signatures", "2")
    assert (lowered["decision"], _reason(lowered)) == (False, "ledger_unverified")
    assert "1 valid distinct signer(s), 2 required" in lowered["context"]["reason_admin"]["message"]
    # The manifest may raise the requirement above the pin, never lower it.
    _set_manifest(root, "require_signatures: 1", "require_signatures: 3")
    sign(root, release)
    sign(root, second)
    raised = _eval(runner, root, "--signers-jwks", str(pin), "--require-signatures", "1")
    assert "2 valid distinct signer(s), 3 required" in raised["context"]["reason_admin"]["message"]


def test_env_pinned_signers_apply_to_ztauth_test(
    runner: CliRunner, tmp_path: Path, release: jose.KeyPair
) -> None:
    root = tmp_path / "ledger"
    write_files(root, minimal_ledger((release,), require=0))
    pin = _pin(tmp_path / "ci", release)
    args = ["test", "--ledger", str(root), "-f", "json"]

    assert runner.invoke(app, args).exit_code == 0
    result = runner.invoke(app, args, env={"ZTAUTH_SIGNERS_JWKS": str(pin)})
    assert result.exit_code == 1, result.stderr
    ((case,),) = [suite["cases"] for suite in json.loads(result.stdout)["suites"]]
    assert case["actual"]["code"] == "ledger_unverified"

    sign(root, release)
    assert runner.invoke(app, args, env={"ZTAUTH_SIGNERS_JWKS": str(pin)}).exit_code == 0
    counted = runner.invoke(
        app, args, env={"ZTAUTH_SIGNERS_JWKS": str(pin), "ZTAUTH_REQUIRE_SIGNATURES": "2"}
    )
    assert counted.exit_code == 1


@pytest.mark.parametrize(
    ("env", "message"),
    [
        ({"ZTAUTH_SIGNERS_JWKS": ""}, "ZTAUTH_SIGNERS_JWKS is set but empty"),
        ({"ZTAUTH_REQUIRE_SIGNATURES": ""}, "ZTAUTH_REQUIRE_SIGNATURES is set but empty"),
        ({"ZTAUTH_REQUIRE_SIGNATURES": "two"}, "ZTAUTH_REQUIRE_SIGNATURES: 'two' is not"),
        ({"ZTAUTH_REQUIRE_SIGNATURES": "-1"}, "ZTAUTH_REQUIRE_SIGNATURES: '-1' is not"),
    ],
    ids=["empty-jwks", "empty-count", "word-count", "negative-count"],
)
def test_a_missing_ci_secret_is_refused_not_read_as_no_pin(
    runner: CliRunner, tmp_path: Path, release: jose.KeyPair, env: dict[str, str], message: str
) -> None:
    # A GitHub Actions secret a fork's pull request cannot read expands to "": that must not
    # quietly hand the gate back to the manifest.
    root = tmp_path / "ledger"
    write_files(root, minimal_ledger((release,), require=0))
    for command in (["eval", _request(tmp_path)], ["test"], ["policy", "verify"]):
        result = runner.invoke(app, [*command, "--ledger", str(root)], env=env)
        assert result.exit_code == 2, (command, result.stdout)
        assert message in result.stderr


def test_pinned_jwks_with_private_key_material_is_refused(
    runner: CliRunner, tmp_path: Path, release: jose.KeyPair
) -> None:
    root = _signed_ledger(tmp_path / "ledger", release)
    leaked = tmp_path / "leaked.jwks.json"
    private = {**release.public_jwk, "d": _b64(b"x" * 32)}  # private material, never a pin
    leaked.write_text(json.dumps({"keys": [private]}), encoding="utf-8")
    result = runner.invoke(
        app, ["eval", "--ledger", str(root), _request(tmp_path), "--signers-jwks", str(leaked)]
    )
    assert result.exit_code == 2
    assert str(leaked) in result.stderr


def test_pinned_jwks_naming_a_member_twice_is_refused(
    runner: CliRunner, tmp_path: Path, release: jose.KeyPair, mallory: jose.KeyPair
) -> None:
    root = _signed_ledger(tmp_path / "ledger", release)
    pin = tmp_path / "twice.jwks.json"
    keys = json.dumps([mallory.public_jwk])
    pin.write_text(f'{{"keys": {keys}, "keys": {jwks(release.public_jwk)}}}', encoding="utf-8")
    result = runner.invoke(
        app, ["eval", "--ledger", str(root), _request(tmp_path), "--signers-jwks", str(pin)]
    )
    assert result.exit_code == 2
    assert f"{pin}:1:1: duplicate key 'keys'" in result.stderr


def test_a_pin_inside_the_ledger_it_checks_is_refused(
    runner: CliRunner, tmp_path: Path, release: jose.KeyPair
) -> None:
    root = _signed_ledger(tmp_path / "ledger", release)
    in_ledger = str(root / "keys/signers.jwks.json")
    for command in (
        ["eval", _request(tmp_path)],
        ["test"],
        ["policy", "verify"],
        ["policy", "version", "bump", "patch"],
    ):
        result = runner.invoke(
            app, [*command, "--ledger", str(root)], env={"ZTAUTH_SIGNERS_JWKS": in_ledger}
        )
        assert result.exit_code == 2, (command, result.stdout)
        assert "the pinned signers JWKS lies inside the ledger it is meant to check" in (
            result.stderr
        )


def test_policy_verify_with_pin_ignores_in_ledger_signers(
    runner: CliRunner, tmp_path: Path, release: jose.KeyPair, mallory: jose.KeyPair
) -> None:
    root = tmp_path / "ledger"
    write_files(root, minimal_ledger((mallory,), require=1))
    sign(root, mallory)
    pin = _pin(tmp_path / "ci", release)
    assert runner.invoke(app, ["policy", "verify", "--ledger", str(root)]).exit_code == 0
    result = runner.invoke(
        app, ["policy", "verify", "--ledger", str(root), "--signers-jwks", str(pin), "-f", "json"]
    )
    assert result.exit_code == 1
    report = json.loads(result.stdout)
    assert report["signers_jwks"] == str(pin)
    assert "signature 1 (kid mallory): unknown key 'mallory'" in report["problems"][0]


def test_policy_diff_refuses_a_side_that_does_not_verify_against_the_pin(
    runner: CliRunner, ledger_repo: LedgerRepo, release: jose.KeyPair
) -> None:
    root = _signed_ledger(ledger_repo.root, release)
    ledger_repo.commit("signed release")
    pin = _pin(ledger_repo.root.parent / "ci", release)
    (root / "policies/all.cedar").write_text(PERMIT_ALL, encoding="utf-8")  # unsigned change
    args = ["policy", "diff", "HEAD", "--ledger", str(root), "-f", "json"]

    assert runner.invoke(app, args).exit_code == 0
    result = runner.invoke(app, [*args, "--signers-jwks", str(pin)])
    assert result.exit_code == 1
    assert result.stdout == ""
    assert "target (working tree) does not verify against the pinned signers" in result.stderr
    assert "policies/all.cedar: added since signing" in result.stderr

    sign(root, release)
    assert runner.invoke(app, [*args, "--signers-jwks", str(pin)]).exit_code == 0


def test_version_bump_refuses_to_tag_a_revision_that_does_not_verify_against_the_pin(
    runner: CliRunner, ledger_repo: LedgerRepo, release: jose.KeyPair, mallory: jose.KeyPair
) -> None:
    root = ledger_repo.root
    write_files(root, minimal_ledger((mallory,), require=1))
    sign(root, mallory)  # verifies against the in-ledger signers, not against the pin
    ledger_repo.commit("self-signed")
    pin = _pin(root.parent / "ci", release)
    args = ["policy", "version", "bump", "patch", "--ledger", str(root), "-f", "json"]

    refused = runner.invoke(app, [*args, "--signers-jwks", str(pin)])
    assert refused.exit_code == 1, refused.stderr
    report = json.loads(refused.stdout)
    assert report["created"] is False
    assert any(
        r.startswith("signatures: not verified: signature 1 (kid mallory): unknown key")
        for r in report["refused"]
    ), report["refused"]
    assert runner.invoke(app, ["policy", "version", "--ledger", str(root)]).stdout.startswith(
        "v0.0.0"
    )


# ----------------------------------------------------------------------------- verify --base


def _released(ledger_repo: LedgerRepo, *signers: jose.KeyPair, require: int) -> Path:
    root = _signed_ledger(ledger_repo.root, *signers, require=require)
    ledger_repo.commit("release")
    ledger_repo.tag("v1.0.0")
    return root


def test_verify_reports_manifest_that_lowered_require_signatures(
    runner: CliRunner, ledger_repo: LedgerRepo, release: jose.KeyPair, second: jose.KeyPair
) -> None:
    root = _released(ledger_repo, release, second, require=2)
    _set_manifest(root, "require_signatures: 2", "require_signatures: 1")
    write_signatures(root)
    sign(root, release)
    verify = ["policy", "verify", "--ledger", str(root), "-f", "json"]

    result = runner.invoke(app, verify)  # the working tree, against HEAD by default
    assert result.exit_code == 1, result.stdout
    report = json.loads(result.stdout)
    assert report["verified"] is False
    assert report["base"]["revision"] == "HEAD"
    assert report["base"]["findings"] == [
        "settings.require_signatures lowered from 2 (at HEAD) to 1, without the signatures of "
        "2 signer(s) trusted at HEAD (1 found: release)"
    ]
    # Committed, then verified as a revision: compared with the previous version tag.
    ledger_repo.commit("lower the gate")
    result = runner.invoke(app, [*verify, "--rev", "HEAD"])
    assert result.exit_code == 1
    assert json.loads(result.stdout)["base"]["revision"] == "v1.0.0"
    text = runner.invoke(app, ["policy", "verify", "--ledger", str(root), "--base", "v1.0.0"])
    assert text.exit_code == 1
    assert "- settings.require_signatures lowered from 2 (at v1.0.0) to 1" in text.stdout


def test_verify_reports_own_key_added_to_in_ledger_signers(
    runner: CliRunner, ledger_repo: LedgerRepo, release: jose.KeyPair, mallory: jose.KeyPair
) -> None:
    root = _released(ledger_repo, release, require=1)
    (root / "keys/signers.jwks.json").write_text(
        jwks(release.public_jwk, mallory.public_jwk), encoding="utf-8"
    )
    write_signatures(root)
    sign(root, mallory)

    result = runner.invoke(app, ["policy", "verify", "--ledger", str(root), "-f", "json"])
    assert result.exit_code == 1
    assert json.loads(result.stdout)["base"]["findings"] == [
        "signers JWKS keys/signers.jwks.json changed since HEAD (added: mallory), without the "
        "signatures of 1 signer(s) trusted at HEAD (0 found)"
    ]


def test_signer_rotation_signed_by_the_previous_signers_is_not_a_finding(
    runner: CliRunner, ledger_repo: LedgerRepo, release: jose.KeyPair, second: jose.KeyPair
) -> None:
    root = _released(ledger_repo, release, require=1)
    verify = ["policy", "verify", "--ledger", str(root), "-f", "json"]
    # Rotation with an overlap: the key trusted until now approves its successor (as TUF
    # rotates root keys), then the successor alone retires it.
    (root / "keys/signers.jwks.json").write_text(
        jwks(release.public_jwk, second.public_jwk), encoding="utf-8"
    )
    write_signatures(root)
    sign(root, second)
    sign(root, release)
    result = runner.invoke(app, verify)
    report = json.loads(result.stdout)
    assert result.exit_code == 0, report["problems"]
    assert report["base"]["findings"] == []
    ledger_repo.commit("add the successor key")

    (root / "keys/signers.jwks.json").write_text(jwks(second.public_jwk), encoding="utf-8")
    write_signatures(root)
    sign(root, second)
    result = runner.invoke(app, verify)
    assert result.exit_code == 0, result.stdout
    # Against the release before the overlap, the successor alone is not enough.
    jumped = runner.invoke(app, [*verify, "--base", "v1.0.0"])
    assert jumped.exit_code == 1
    assert json.loads(jumped.stdout)["base"]["findings"] == [
        "signers JWKS keys/signers.jwks.json changed since v1.0.0 (added: second; removed: "
        "release), without the signatures of 1 signer(s) trusted at v1.0.0 (0 found)"
    ]


def test_first_signers_on_an_ungated_ledger_are_a_finding_only_under_a_pinned_count(
    runner: CliRunner, ledger_repo: LedgerRepo, release: jose.KeyPair
) -> None:
    root = ledger_repo.root
    write_files(root, minimal_ledger((), require=0))
    ledger_repo.commit("no signers, no gate")
    (root / "keys/signers.jwks.json").write_text(jwks(release.public_jwk), encoding="utf-8")
    sign(root, release)
    verify = ["policy", "verify", "--ledger", str(root), "-f", "json"]

    setup = runner.invoke(app, verify)  # nothing was required: nothing to weaken
    assert setup.exit_code == 0, setup.stdout
    pinned = runner.invoke(app, [*verify, "--require-signatures", "1"])
    assert pinned.exit_code == 1
    assert json.loads(pinned.stdout)["base"]["findings"] == [
        "signers JWKS keys/signers.jwks.json changed since HEAD (added: release), without the "
        "signatures of 1 signer(s) trusted at HEAD (0 found)"
    ]


def test_verify_without_a_repository_has_no_base(
    runner: CliRunner, tmp_path: Path, release: jose.KeyPair
) -> None:
    root = _signed_ledger(tmp_path / "ledger", release)
    result = runner.invoke(app, ["policy", "verify", "--ledger", str(root), "-f", "json"])
    assert result.exit_code == 0, result.stdout
    assert json.loads(result.stdout)["base"] is None
    explicit = runner.invoke(app, ["policy", "verify", "--ledger", str(root), "--base", "v1.0.0"])
    assert explicit.exit_code == 2


# ----------------------------------------------------------------------------- item 4: signed set


def test_schema_in_tests_folder_is_signed_and_edit_is_detected(
    runner: CliRunner, tmp_path: Path, release: jose.KeyPair
) -> None:
    root = tmp_path / "ledger"
    files = minimal_ledger((release,), require=1)
    files["ztauth.yaml"] = str(files["ztauth.yaml"]) + "schema: tests/schema.cedarschema\n"
    files["tests/schema.cedarschema"] = SCHEMA
    write_files(root, files)
    sign(root, release)
    verify = ["policy", "verify", "--ledger", str(root), "-f", "json"]
    assert runner.invoke(app, verify).exit_code == 0

    (root / "tests/schema.cedarschema").write_text(WIDER_SCHEMA, encoding="utf-8")
    result = runner.invoke(app, verify)
    assert result.exit_code == 1
    (change,) = json.loads(result.stdout)["signatures"][0]["changes"]
    assert (change["path"], change["change"]) == ("tests/schema.cedarschema", "changed")
    assert _reason(_eval(runner, root)) == "ledger_unverified"


def _evaluated_view(files: dict[str, bytes]) -> Any:
    """Everything of a built ledger the evaluator can see (not suites, signatures, raw bytes)."""
    import dataclasses

    from ztauth_cli.ledger.load import build_ledger

    ledger = build_ledger(files, root="ledger", revision=None)
    view = dataclasses.asdict(ledger)
    for name in ("files", "suites", "signatures_text", "suppressions", "root", "revision"):
        view.pop(name, None)
    view["problems"] = sorted(
        str(p) for p in ledger.problems if not (p.span and p.span.path.startswith("tests/"))
    )
    return view


@pytest.mark.parametrize(
    "schema",
    [None, "tests/schema.cedarschema", "schema.cedarschema", "policies/schema.cedarschema"],
)
def test_every_file_whose_edit_changes_evaluation_is_signed(
    schema: str | None, release: jose.KeyPair
) -> None:
    from ztauth_cli.ledger.load import build_ledger
    from ztauth_cli.ledger.signing import file_digests

    raw: dict[str, str | bytes] = {
        **minimal_ledger((release,), require=1),
        "entities/users.json": '[{"uid": {"type": "User", "id": "alice"}, "attrs": {}, '
        '"parents": []}]\n',
        "trust/levels.yaml": "apiVersion: ztauth/v1\nkind: TrustLevel\nname: basic\nrank: 1\n",
        "keys/idp.jwks.json": jwks(release.public_jwk),
        "stray.cedarschema": SCHEMA,
        "tests/schema.cedarschema": SCHEMA,
    }
    if schema is not None:
        raw["ztauth.yaml"] = str(raw["ztauth.yaml"]) + f"schema: {schema}\n"
        raw[schema] = SCHEMA
    files = {p: c.encode() if isinstance(c, str) else c for p, c in raw.items()}
    signed = {d.name for d in file_digests(build_ledger(files, root="ledger", revision=None))}
    before = _evaluated_view(files)
    # The files whose edit changes what the evaluator sees, found by editing each in turn:
    # exactly the signed set, whatever folder a file sits in.
    changing = {
        path
        for path in files
        if _evaluated_view({**files, path: files[path] + b"\n// edited\n"}) != before
    }
    assert signed == changing
    assert (schema in signed) if schema is not None else ("tests/schema.cedarschema" not in signed)
    assert "stray.cedarschema" not in signed  # read by nothing: no decision depends on it


# ----------------------------------------------------------------------------- item 11: JOSE


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _raw_jws(key: jose.KeyPair, header: str, payload: str) -> str:
    """A compact JWS over exactly these header and payload texts (duplicates kept)."""
    from cryptography.hazmat.primitives.serialization import load_pem_private_key

    signing_input = f"{_b64(header.encode())}.{_b64(payload.encode())}"
    private = load_pem_private_key(key.private_pem, password=None)
    signature = private.sign(signing_input.encode("ascii"))  # type: ignore[call-arg,union-attr]
    return f"{signing_input}.{_b64(signature)}"


def _payload(root: Path) -> dict[str, Any]:
    (token,) = json.loads((root / ".signatures.json").read_text())["signatures"]
    return jose.decode_unverified(token)[1]


def test_jws_with_duplicate_header_key_is_refused(
    runner: CliRunner, tmp_path: Path, release: jose.KeyPair
) -> None:
    root = _signed_ledger(tmp_path / "ledger", release)
    payload = json.dumps(_payload(root))
    header = '{"alg": "EdDSA", "kid": "release", "typ": "x", "kid": "release"}'
    write_signatures(root, _raw_jws(release, header, payload))

    result = runner.invoke(app, ["policy", "verify", "--ledger", str(root), "-f", "json"])
    assert result.exit_code == 1
    problems = json.loads(result.stdout)["problems"]
    assert problems[0] == (
        "signature 1: malformed token: the header names 'kid' twice (duplicate JSON keys are "
        "refused: parsers disagree on which one wins)"
    )
    inspect = runner.invoke(app, ["token", "inspect", _raw_jws(release, header, payload)])
    assert inspect.exit_code == 2
    assert "the header names 'kid' twice" in inspect.stderr


def test_jws_with_duplicate_claim_is_refused(
    runner: CliRunner, tmp_path: Path, release: jose.KeyPair
) -> None:
    root = _signed_ledger(tmp_path / "ledger", release)
    claims = _payload(root)
    # One parser sees the signed file list, another the empty one that follows it.
    payload = json.dumps(claims)[:-1] + ', "files": []}'
    header = '{"alg": "EdDSA", "kid": "release"}'
    write_signatures(root, _raw_jws(release, header, payload))

    result = runner.invoke(app, ["policy", "verify", "--ledger", str(root), "-f", "json"])
    assert result.exit_code == 1
    assert json.loads(result.stdout)["problems"][0] == (
        "signature 1: malformed token: the payload names 'files' twice "
        "(duplicate JSON keys are refused: parsers disagree on which one wins)"
    )
    nested = json.dumps({**claims, "act": {"sub": "a"}})[:-2] + ', "sub": "b"}}'
    inspect = runner.invoke(app, ["token", "inspect", _raw_jws(release, header, nested)])
    assert inspect.exit_code == 2
    assert "the payload names 'sub' twice" in inspect.stderr


def test_verified_token_with_duplicate_claim_is_refused_before_any_claim_is_read(
    release: jose.KeyPair,
) -> None:
    from datetime import datetime, timezone

    now = datetime(2026, 6, 1, 12, tzinfo=timezone.utc)
    exp = int(now.timestamp()) + 300
    # Validly signed: a verifier keeping the last 'sub' sees bob, one keeping the first, alice.
    payload = f'{{"sub": "alice", "exp": {exp}, "sub": "bob"}}'
    token = _raw_jws(release, '{"alg": "EdDSA", "kid": "release"}', payload)
    with pytest.raises(jose.TokenError, match="the payload names 'sub' twice"):
        jose.verify(token, keys=[release.public_jwk], algorithms=["EdDSA"], now=now)


def test_pinned_gate_also_guards_search_so_a_permit_all_edit_lists_no_access(
    runner: CliRunner, tmp_path: Path, release: jose.KeyPair
) -> None:
    root = _signed_ledger(tmp_path / "ledger", release)
    pin = _pin(tmp_path / "ci", release)
    # The attack: a policy granting delete to everyone, and the manifest switches the gate off.
    (root / "policies/all.cedar").write_text(
        '@id("anyone-deletes")\npermit(principal, action == Action::"delete", resource);\n',
        encoding="utf-8",
    )
    _set_manifest(root, "require_signatures: 1", "require_signatures: 0")
    # Search answers only for entities the ledger knows.
    (root / "entities").mkdir()
    (root / "entities/all.json").write_text(
        json.dumps(
            [
                {"uid": {"type": "User", "id": "mallory"}, "attrs": {}, "parents": []},
                {"uid": {"type": "Document", "id": "d1"}, "attrs": {}, "parents": []},
            ]
        ),
        encoding="utf-8",
    )
    body = tmp_path / "what-may-mallory-do.json"
    body.write_text(json.dumps({k: DELETE[k] for k in ("subject", "resource")}), "utf-8")

    def actions(*args: str) -> list[str]:
        result = runner.invoke(
            app, ["search", "action", str(body), "--ledger", str(root), "-f", "json", *args]
        )
        assert result.exit_code == 0, result.stderr
        return [r["name"] for r in json.loads(result.stdout)["results"]]

    assert "delete" in actions()  # the manifest alone decides: the gate is off
    assert actions("--signers-jwks", str(pin)) == []
