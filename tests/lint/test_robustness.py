"""Whatever the ledger's files hold, lint reports findings: it never raises."""

from __future__ import annotations

from datetime import datetime, timezone

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ztauth_cli.ledger.load import build_ledger
from ztauth_cli.lint import lint_ledger
from ztauth_cli.lint.init import render_template

NOW = datetime(2026, 6, 1, tzinfo=timezone.utc)
BASE = {
    path: text.encode()
    for path, text in render_template(
        "delegation", name="demo", ztid="ztauth://example.internal/100000000000/ledgers/demo"
    ).items()
}
TARGETS = sorted(p for p in BASE if p.endswith((".yaml", ".cedar", ".json", ".cedarschema")))

# Fragments that make plausible-but-wrong ledger text (Cedar and YAML tokens, comments).
FRAGMENTS = st.sampled_from(
    [
        "permit",
        "forbid",
        "(",
        ")",
        ";",
        "{",
        "}",
        "when",
        "unless",
        "principal",
        "action",
        "resource",
        '@id("x")',
        '@id("X_Y")',
        'Action::"read"',
        "==",
        "in",
        "is",
        "[",
        "]",
        ":",
        "-",
        "---",
        "\n",
        "  ",
        "kind: Elevation",
        "kind: TrustLevel",
        "rank: 1",
        "name: basic",
        "apiVersion: ztauth/v1",
        "# ztauth: ignore ZT301",
        "// ztauth: ignore",
        '"',
        "'",
        "*",
        "&a",
        "*a",
        "<<:",
        "\t",
        "\ufeff",
        "\x00",
        "1e309",
        '{"keys": [',
    ]
)


@settings(
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)
@given(
    target=st.sampled_from(TARGETS),
    cut=st.integers(min_value=0, max_value=400),
    junk=st.lists(FRAGMENTS, max_size=12).map("".join),
)
def test_mangled_ledger_never_raises(target: str, cut: int, junk: str) -> None:
    files = dict(BASE)
    original = files[target].decode()
    files[target] = (original[:cut] + junk + original[cut:]).encode()
    ledger = build_ledger(files, root="/ledger", revision=None)
    result = lint_ledger(ledger, now=NOW, strict=True)
    for finding in result.report.findings:
        assert finding.rule_id.startswith("ZT")
        assert finding.message


def test_a_finding_without_a_place_points_at_the_manifest() -> None:
    # A loader problem that names no file (span None) is still a located SARIF result.
    from ztauth_cli.errors import DocumentError
    from ztauth_cli.report.sarif import to_sarif

    ledger = build_ledger({}, root=".", revision=None, problems=[DocumentError("no place")])
    report = lint_ledger(ledger, now=datetime(2026, 1, 1, tzinfo=timezone.utc)).report
    sarif = to_sarif(report)
    results = sarif["runs"][0]["results"]
    assert results
    assert all(r["locations"] for r in results)
    placeless = [r for r in results if r["message"]["text"] == "no place"]
    uri = placeless[0]["locations"][0]["physicalLocation"]["artifactLocation"]["uri"]
    assert uri == "ztauth.yaml"
