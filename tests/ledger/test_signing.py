"""Ledger signatures: hashing rule, signing, verification and every tampering we refuse."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import shutil
from collections.abc import Callable
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from tests.support.repo import LedgerRepo, write_files
from tests.support.signing import NOW, ZTID, jwks, minimal_ledger, sign, write_signatures
from ztauth_cli import jose
from ztauth_cli.errors import DocumentError, UsageError
from ztauth_cli.ledger import load
from ztauth_cli.ledger.signing import (
    file_digests,
    load_signing_key,
    parse_signatures,
    signature_payload,
    verify_ledger,
)
from ztauth_cli.ledger.signing.hash import digest
from ztauth_cli.ledger.signing.verify import compare_files

OTHER_ZTID = "ztauth://acme.internal/273165098782/ledgers/other"


@pytest.fixture(scope="module")
def keys() -> dict[str, jose.KeyPair]:
    return {
        "EdDSA": jose.generate_key("EdDSA", kid="ed"),
        "ES256": jose.generate_key("ES256", kid="es"),
        "RS256": jose.generate_key("RS256", kid="rs"),
        "PS256": jose.generate_key("PS256", kid="ps"),
        "second": jose.generate_key("EdDSA", kid="second"),
        "stranger": jose.generate_key("EdDSA", kid="stranger"),
        "ES384": jose.generate_key("ES384", kid="es384"),
    }


# What verify says when the manifest requires no signature: its own bar, named as such.
NO_BAR = (
    "1 required to call it verified "
    "(settings.require_signatures is 0: eval and test do not check signatures)"
)


def _ledger(root: Path, *signers: jose.KeyPair, require: int = 0, ztid: str = ZTID) -> Path:
    write_files(root, minimal_ledger(signers, require=require, ztid=ztid))
    return root


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _forge(header: dict[str, object], payload: dict[str, object], secret: bytes | None) -> str:
    signing_input = f"{_b64(json.dumps(header).encode())}.{_b64(json.dumps(payload).encode())}"
    if secret is None:
        return signing_input + "."
    mac = hmac.new(secret, signing_input.encode(), hashlib.sha256).digest()
    return f"{signing_input}.{_b64(mac)}"


# ----------------------------------------------------------------------------- hash.py


def test_signed_files_are_what_the_evaluator_loads() -> None:
    files = {
        "ztauth.yaml": b"m",
        "schema.cedarschema": b"s",
        "policies/a/b.cedar": b"p",
        "entities/users.json": b"[]",
        "trust/groups.yaml": b"t",
        "keys/idp.jwks.json": b"k",
        "tests/suite.yaml": b"not signed: tests never change a decision",
        ".signatures.json": b"cannot sign itself",
        "README.md": b"not a ledger file",
        "policies/notes.txt": b"not a ledger file",
    }
    assert [d.name for d in file_digests(files)] == [
        "entities/users.json",
        "keys/idp.jwks.json",
        "policies/a/b.cedar",
        "schema.cedarschema",
        "trust/groups.yaml",
        "ztauth.yaml",
    ]
    assert {d.algorithm for d in file_digests(files)} == {"SHA-256"}


def test_digest_is_of_raw_bytes_not_of_parsed_yaml() -> None:
    # Same YAML data, different bytes: what was reviewed is what is signed.
    one = file_digests({"trust/a.yaml": b"kind: TrustLevel\nname: x\n"})
    two = file_digests({"trust/a.yaml": b"name: x\nkind: TrustLevel  # reordered\n"})
    assert one[0].hash != two[0].hash
    assert one[0].hash == hashlib.sha256(b"kind: TrustLevel\nname: x\n").hexdigest()


# ----------------------------------------------------------------------------- sign + verify


@pytest.mark.parametrize("alg", ["EdDSA", "ES256", "RS256", "PS256"])
def test_sign_and_verify_round_trip(
    tmp_path: Path, keys: dict[str, jose.KeyPair], alg: str
) -> None:
    key = keys[alg]
    root = _ledger(tmp_path, key)
    token = sign(root, key)

    header, payload = jose.decode_unverified(token)
    assert (header["alg"], header["kid"]) == (alg, key.kid)
    assert payload == {
        "ledger": ZTID,
        "files": [
            {
                "name": "keys/signers.jwks.json",
                "hash": digest((root / "keys/signers.jwks.json").read_bytes()),
                "algorithm": "SHA-256",
            },
            {
                "name": "policies/read.cedar",
                "hash": digest((root / "policies/read.cedar").read_bytes()),
                "algorithm": "SHA-256",
            },
            {
                "name": "ztauth.yaml",
                "hash": digest((root / "ztauth.yaml").read_bytes()),
                "algorithm": "SHA-256",
            },
        ],
        "iat": int(NOW.timestamp()),
        "iss": key.kid,
    }
    result = verify_ledger(load(root), now=NOW)
    assert result.ok, result.problems
    assert result.state == "verified"
    assert result.valid_signers == (key.kid,)
    assert result.summary == (f"verified: 1 distinct signer(s) ({key.kid}), {NO_BAR}; 3 files")


def test_resigning_replaces_only_the_same_keys_signature(
    tmp_path: Path, keys: dict[str, jose.KeyPair]
) -> None:
    first, second = keys["EdDSA"], keys["second"]
    root = _ledger(tmp_path, first, second)
    sign(root, first)
    sign(root, second)
    (root / "policies/read.cedar").write_text(
        "// reviewed again\n" + (root / "policies/read.cedar").read_text()
    )
    sign(root, first)
    tokens = parse_signatures((root / ".signatures.json").read_text())
    assert [jose.decode_unverified(t)[0]["kid"] for t in tokens] == ["second", "ed"]
    result = verify_ledger(load(root), now=NOW)
    # The second signer has not re-approved the changed policy: fail closed.
    assert not result.ok
    assert any(
        p.startswith("signature 1 (kid second): policies/read.cedar: changed")
        for p in result.problems
    )


def test_unsigned_ledger(tmp_path: Path, keys: dict[str, jose.KeyPair]) -> None:
    result = verify_ledger(load(_ledger(tmp_path, keys["EdDSA"])), now=NOW)
    assert (result.ok, result.state) == (False, "unsigned")
    assert result.problems == ("no .signatures.json: the ledger is unsigned",)


# ----------------------------------------------------------------------------- tampering

Tamper = Callable[[Path, dict[str, jose.KeyPair], str], str]


def _change_one_byte(root: Path, keys: dict[str, jose.KeyPair], _token: str) -> str:
    path = root / "policies/read.cedar"
    before = digest(path.read_bytes())
    path.write_bytes(path.read_bytes().replace(b"read", b"reed", 1))
    after = digest(path.read_bytes())
    return f"policies/read.cedar: changed since signing (expected {before}, actual {after})"


def _add_file(root: Path, keys: dict[str, jose.KeyPair], _token: str) -> str:
    write_files(
        root, {"policies/backdoor.cedar": '@id("all")\npermit(principal, action, resource);\n'}
    )
    return "policies/backdoor.cedar: added since signing (not covered by the signature)"


def _remove_file(root: Path, keys: dict[str, jose.KeyPair], _token: str) -> str:
    signed = digest((root / "policies/read.cedar").read_bytes())
    (root / "policies/read.cedar").unlink()
    return f"policies/read.cedar: removed since signing (signed {signed})"


def _other_ledgers_signature(root: Path, keys: dict[str, jose.KeyPair], _token: str) -> str:
    other = _ledger(root.parent / "other", keys["EdDSA"], ztid=OTHER_ZTID)
    shutil.copy(root / "policies/read.cedar", other / "policies/read.cedar")
    token = sign(other, keys["EdDSA"])
    write_signatures(root, token)
    return f"signed for another ledger '{OTHER_ZTID}' (this ledger is '{ZTID}')"


def _replay_old_signatures(root: Path, keys: dict[str, jose.KeyPair], _token: str) -> str:
    old = (root / ".signatures.json").read_bytes()
    path = root / "policies/read.cedar"
    before = digest(path.read_bytes())
    path.write_text('@id("anyone-reads")\npermit(principal, action, resource);\n')
    sign(root, keys["EdDSA"], now=NOW)  # the new content is signed ...
    (root / ".signatures.json").write_bytes(old)  # ... and the old signature is put back
    return (
        f"policies/read.cedar: changed since signing (expected {before}, "
        f"actual {digest(path.read_bytes())})"
    )


def _alg_none(root: Path, keys: dict[str, jose.KeyPair], token: str) -> str:
    _, payload = jose.decode_unverified(token)
    write_signatures(root, _forge({"alg": "none", "kid": "ed"}, payload, None))
    return "algorithm 'none' refused: an unsigned signature proves nothing"


def _hmac_with_public_key(root: Path, keys: dict[str, jose.KeyPair], token: str) -> str:
    _, payload = jose.decode_unverified(token)
    secret = json.dumps(keys["EdDSA"].public_jwk).encode()  # the published key as HMAC secret
    write_signatures(root, _forge({"alg": "HS256", "kid": "ed"}, payload, secret))
    return (
        "HMAC algorithm 'HS256' refused: ledger signatures are checked with public keys, "
        "and an HMAC keyed with a public key is forgeable (key confusion)"
    )


def _unknown_key(root: Path, keys: dict[str, jose.KeyPair], _token: str) -> str:
    write_signatures(root)
    sign(root, keys["stranger"])
    return "unknown key 'stranger' (not a trusted signer in keys/signers.jwks.json)"


def _forged_signature_bytes(root: Path, keys: dict[str, jose.KeyPair], token: str) -> str:
    head, payload, sig = token.split(".")
    claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    claims["iss"] = "someone-else"
    write_signatures(root, f"{head}.{_b64(json.dumps(claims).encode())}.{sig}")
    return "signature does not verify with key 'ed' of the issuer"


def _disallowed_algorithm(root: Path, keys: dict[str, jose.KeyPair], token: str) -> str:
    _, payload = jose.decode_unverified(token)
    es384 = keys["ES384"]
    write_signatures(root, jose.sign(payload, es384.private_pem, alg="ES384", kid="ed"))
    return (
        "algorithm 'ES384' is not allowed for ledger signatures "
        "(allowed: EdDSA, ES256, RS256, PS256)"
    )


@pytest.mark.parametrize(
    "tamper",
    [
        _change_one_byte,
        _add_file,
        _remove_file,
        _other_ledgers_signature,
        _replay_old_signatures,
        _alg_none,
        _hmac_with_public_key,
        _unknown_key,
        _forged_signature_bytes,
        _disallowed_algorithm,
    ],
    ids=lambda f: f.__name__.strip("_"),
)
def test_tampering_fails_with_a_precise_message(
    tmp_path: Path, keys: dict[str, jose.KeyPair], tamper: Tamper
) -> None:
    root = _ledger(tmp_path / "ledger", keys["EdDSA"])
    token = sign(root, keys["EdDSA"])
    assert verify_ledger(load(root), now=NOW).ok

    expected = tamper(root, keys, token)

    result = verify_ledger(load(root, tolerant=True), now=NOW)
    assert (result.ok, result.state) == (False, "invalid")
    signature_problems = [
        p.partition(": ")[2] for p in result.problems if p.startswith("signature 1")
    ]
    assert expected in signature_problems, result.problems
    assert result.problems[-1] == f"0 valid distinct signer(s), {NO_BAR}"
    assert result.summary.startswith("not verified: signature 1")


# ----------------------------------------------------------------------------- quorum and keys


def test_quorum_of_two_distinct_keys(tmp_path: Path, keys: dict[str, jose.KeyPair]) -> None:
    root = _ledger(tmp_path, keys["EdDSA"], keys["ES256"], require=2)
    sign(root, keys["EdDSA"])
    result = verify_ledger(load(root), now=NOW)
    assert not result.ok
    assert result.problems == (
        "1 valid distinct signer(s), 2 required by settings.require_signatures",
    )
    sign(root, keys["ES256"])
    result = verify_ledger(load(root), now=NOW)
    assert result.ok, result.problems
    assert (result.valid_signers, result.required) == (("ed", "es"), 2)


def test_the_same_key_twice_is_one_signer(tmp_path: Path, keys: dict[str, jose.KeyPair]) -> None:
    key = keys["EdDSA"]
    alias = {**key.public_jwk, "kid": "ed-alias"}  # same key material under a second kid
    root = _ledger(tmp_path, key, require=2)
    (root / "keys/signers.jwks.json").write_text(jwks(key.public_jwk, alias))
    ledger = load(root)
    first = sign(root, key)
    handle = load_signing_key(key.private_pem, path="k.pem", kid="ed-alias")
    second = jose.sign(
        signature_payload(ledger, issuer="x", now=NOW), handle.handle, alg="EdDSA", kid="ed-alias"
    )
    write_signatures(root, first, first, second)
    result = verify_ledger(load(root), now=NOW)
    assert not result.ok
    assert result.valid_signers == ("ed",)
    assert result.problems == (
        "1 valid distinct signer(s), 2 required by settings.require_signatures",
    )


def test_private_key_material_in_the_signers_jwks_is_refused(
    tmp_path: Path, keys: dict[str, jose.KeyPair]
) -> None:
    root = _ledger(tmp_path, keys["EdDSA"])
    sign(root, keys["EdDSA"])
    leaked = {**keys["EdDSA"].public_jwk, "d": "c2VjcmV0"}
    (root / "keys/signers.jwks.json").write_text(jwks(leaked))
    sign(root, keys["EdDSA"])  # re-sign so that the JWKS change itself is covered
    result = verify_ledger(load(root), now=NOW)
    assert not result.ok
    assert result.problems[0] == (
        "signer key 'ed' in keys/signers.jwks.json refused: "
        "private key material ('d') in a public JWKS"
    )


def test_jwks_override(tmp_path: Path, keys: dict[str, jose.KeyPair]) -> None:
    root = _ledger(tmp_path, keys["EdDSA"])
    sign(root, keys["stranger"])
    ledger = load(root)
    assert not verify_ledger(ledger, now=NOW).ok
    result = verify_ledger(
        ledger, jwks=[keys["stranger"].public_jwk], jwks_source="ci.jwks", now=NOW
    )
    assert result.ok, result.problems
    assert result.keys_source == "ci.jwks"


def test_no_signers_configured(tmp_path: Path, keys: dict[str, jose.KeyPair]) -> None:
    root = _ledger(tmp_path, keys["EdDSA"])
    sign(root, keys["EdDSA"])
    (root / "ztauth.yaml").write_text(
        (root / "ztauth.yaml").read_text().replace("signers: keys/signers.jwks.json\n", "")
    )
    result = verify_ledger(load(root), now=NOW)
    assert result.problems[0] == "the manifest names no 'signers' JWKS and no --jwks was given"


def test_signature_from_the_future_is_refused(
    tmp_path: Path, keys: dict[str, jose.KeyPair]
) -> None:
    root = _ledger(tmp_path, keys["EdDSA"])
    sign(root, keys["EdDSA"], now=NOW.replace(year=2030))
    result = verify_ledger(load(root), now=NOW)
    assert not result.ok
    assert "token issued in the future" in result.problems[0]


def test_malformed_signatures_file(tmp_path: Path, keys: dict[str, jose.KeyPair]) -> None:
    root = _ledger(tmp_path, keys["EdDSA"])
    (root / ".signatures.json").write_text('{"signatures": "not a list"}')
    result = verify_ledger(load(root), now=NOW)
    assert result.state == "invalid"
    assert result.problems[0] == '.signatures.json: expected {"signatures": ["<compact JWS>", ...]}'


def test_verify_reads_a_git_revision_not_the_working_tree(
    ledger_repo: LedgerRepo, keys: dict[str, jose.KeyPair]
) -> None:
    root = _ledger(ledger_repo.root, keys["EdDSA"])
    sign(root, keys["EdDSA"])
    ledger_repo.commit("signed")
    (root / "policies/read.cedar").write_text("// edited\n")
    assert not verify_ledger(load(root, tolerant=True), now=NOW).ok
    at_head = verify_ledger(load(root, rev="HEAD", tolerant=True), now=NOW)
    assert at_head.ok, at_head.problems


# ----------------------------------------------------------------------------- keys.py


def test_hmac_secret_is_not_a_signing_key() -> None:
    with pytest.raises(DocumentError, match="HMAC secrets and raw keys are refused"):
        load_signing_key(b"correct horse battery staple", path="secret.key")


def test_public_key_is_not_a_signing_key(keys: dict[str, jose.KeyPair]) -> None:
    from cryptography.hazmat.primitives.serialization import (
        Encoding,
        PublicFormat,
        load_pem_private_key,
    )

    private = load_pem_private_key(keys["EdDSA"].private_pem, password=None)
    public_pem = private.public_key().public_bytes(Encoding.PEM, PublicFormat.SubjectPublicKeyInfo)
    with pytest.raises(DocumentError, match=r"^key\.pub:1:1: not a PEM private key"):
        load_signing_key(public_pem, path="key.pub")


def test_key_types_outside_the_signing_algorithms(keys: dict[str, jose.KeyPair]) -> None:
    with pytest.raises(
        DocumentError,
        match=r"a ES384 key cannot sign a ledger \(allowed: EdDSA, ES256, RS256, PS256\)",
    ):
        load_signing_key(keys["ES384"].private_pem, path="p384.pem")
    with pytest.raises(UsageError, match="algorithm 'HS256' is not allowed for ledger signatures"):
        load_signing_key(keys["EdDSA"].private_pem, path="k.pem", alg="HS256")
    with pytest.raises(UsageError, match="cannot sign with algorithm 'PS256'"):
        load_signing_key(keys["EdDSA"].private_pem, path="k.pem", alg="PS256")


def test_kid_defaults_to_the_signers_jwks_then_the_thumbprint(
    keys: dict[str, jose.KeyPair],
) -> None:
    key = keys["EdDSA"]
    named = load_signing_key(
        key.private_pem, path="k.pem", known=[{**key.public_jwk, "kid": "release-2026"}]
    )
    assert named.kid == "release-2026"
    anonymous = load_signing_key(key.private_pem, path="k.pem")
    assert anonymous.kid == jose.jwk_thumbprint(key.public_jwk)
    rsa = load_signing_key(keys["RS256"].private_pem, path="r.pem", alg="PS256")
    assert (rsa.alg, rsa.public_jwk["alg"]) == ("PS256", "PS256")


_PATHS = st.sampled_from(
    ["ztauth.yaml", "policies/a.cedar", "policies/b/c.cedar", "trust/t.yaml", "keys/k.jwks.json"]
)


@given(
    st.dictionaries(_PATHS, st.binary(max_size=8), min_size=1),
    st.dictionaries(_PATHS, st.binary(max_size=8)),
)
def test_compare_files_names_exactly_what_differs(
    signed: dict[str, bytes], now: dict[str, bytes]
) -> None:
    changes = compare_files(file_digests(signed), file_digests(now))
    differing = sorted(p for p in signed.keys() | now.keys() if signed.get(p) != now.get(p))
    assert [c.path for c in changes] == differing
    for change in changes:
        expected = (
            "added"
            if change.path not in signed
            else "removed"
            if change.path not in now
            else "changed"
        )
        assert change.change == expected
