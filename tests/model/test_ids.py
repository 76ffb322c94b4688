from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from ztauth_cli.model.ids import is_kebab_case, parse_ztid, validate_ztdomain, validate_ztzone


def test_parses_a_valid_ztid() -> None:
    parts = parse_ztid("ztauth://acme.internal/273165098782/ledgers/payments")
    assert (parts.domain, parts.zone, parts.path) == (
        "acme.internal",
        273165098782,
        ("ledgers", "payments"),
    )


@pytest.mark.parametrize(
    ("ztid", "problem"),
    [
        ("https://acme.internal/273165098782/x", "must start with 'ztauth://'"),
        ("ztauth://ACME.internal/273165098782/x", "no uppercase"),
        ("ztauth://acme.internal:443/273165098782/x", "no uppercase, port"),
        ("ztauth://user@acme.internal/273165098782/x", "userinfo"),
        ("ztauth://acme%2Einternal/273165098782/x", "percent-encoding"),
        ("ztauth://acme.internal/99999999999/x", "integer from 100000000000"),
        ("ztauth://acme.internal/0273165098782/x", "integer from"),
        ("ztauth://acme.internal/273165098782/ledgers/", "must not end with '/'"),
        ("ztauth://acme.internal/273165098782/a/../b", "'.' or '..' segment"),
        ("ztauth://acme.internal/273165098782/a b", "path segment 'a b'"),
        ("ztauth://acme.internal/273165098782", "ztauth://<domain>/<zone>/<path>"),
    ],
    ids=[
        "scheme",
        "uppercase",
        "port",
        "userinfo",
        "percent",
        "zone-small",
        "zone-leading-zero",
        "trailing-slash",
        "dotdot",
        "space",
        "no-path",
    ],
)
def test_rejects_bad_ztids(ztid: str, problem: str) -> None:
    with pytest.raises(ValueError, match=problem.replace("(", r"\(").replace(")", r"\)")):
        parse_ztid(ztid)


@given(st.text(min_size=1, max_size=30))
def test_domain_validation_never_normalises(domain: str) -> None:
    # A domain is accepted only as written: lower-casing or stripping must not be needed.
    ok = validate_ztdomain(domain) is None
    if ok:
        assert domain == domain.lower().strip()
        assert not set(domain) - set("abcdefghijklmnopqrstuvwxyz0123456789._-")


@given(st.text(max_size=14))
def test_zone_accepts_only_twelve_digit_integers(zone: str) -> None:
    ok = validate_ztzone(zone) is None
    assert ok == (zone.isascii() and zone.isdigit() and len(zone) == 12 and zone[0] != "0")


@given(
    st.from_regex(r"[a-z0-9._-]{1,10}", fullmatch=True),
    st.integers(min_value=100_000_000_000, max_value=999_999_999_999),
    st.lists(st.from_regex(r"[A-Za-z0-9_-][A-Za-z0-9._-]{0,8}", fullmatch=True), min_size=1),
)
def test_round_trip_of_valid_ztids(domain: str, zone: int, path: list[str]) -> None:
    path = [p for p in path if p not in {".", ".."}] or ["x"]
    text = f"ztauth://{domain}/{zone}/{'/'.join(path)}"
    parts = parse_ztid(text)
    assert f"ztauth://{parts.domain}/{parts.zone}/{'/'.join(parts.path)}" == text


@pytest.mark.parametrize(
    ("text", "ok"),
    [("owner-can-read", True), ("a1", True), ("Owner", False), ("a--b", False), ("-a", False)],
)
def test_kebab_case(text: str, ok: bool) -> None:
    assert is_kebab_case(text) is ok
