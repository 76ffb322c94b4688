"""Benchmark `ztauth policy diff`: a 200-commit history over a 2,000-policy ledger, two
versions compared with 1,000 test cases replayed against both.

    python benchmarks/bench_diff.py [--commits 200] [--policies 2000] [--cases 1000]

Builds a real Git repository with dulwich in a temp folder (not timed), then times the diff
between the tags v1.0.0 (first commit) and v2.0.0 (last commit), in-process through the CLI,
best of --repeat runs. Target: under 10 s on a 2-core machine.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from _support import BenchRepo
from typer.testing import CliRunner

from ztauth_cli import jose
from ztauth_cli.cli.main import app

ZTID = "ztauth://bench.example/273165098782/ledgers/bench"
IDP = "https://idp.bench.example"
USERS = 100
DOCS = 200
FILES = 20
ASSISTANT = "spiffe://bench.example/assistant/chat"


def _policy(index: int, *, effect: str = "permit") -> str:
    user, doc = index % USERS, index % DOCS
    condition = " when { resource.level <= 3 }" if index % 3 == 0 else ""
    return (
        f'@id("p-{index:05d}")\n{effect} (principal == User::"u{user}", '
        f'action in [Action::"read", Action::"summarize"], resource == Document::"d{doc}")'
        f"{condition};\n"
    )


def _policy_file(number: int, policies: int, flipped: set[int], added: int) -> str:
    per_file = policies // FILES
    lines = [
        _policy(index, effect="forbid" if index in flipped else "permit")
        for index in range(number * per_file, (number + 1) * per_file)
    ]
    lines += [_policy(policies + extra) for extra in range(added) if extra % FILES == number]
    return "\n".join(lines)


def _entities() -> str:
    items = [
        {"uid": {"type": "User", "id": f"u{i}"}, "attrs": {}, "parents": []} for i in range(USERS)
    ]
    items += [
        {
            "uid": {"type": "Document", "id": f"d{i}"},
            "attrs": {
                "level": i % 5,
                "owner": {"__entity": {"type": "User", "id": f"u{i % USERS}"}},
            },
            "parents": [],
        }
        for i in range(DOCS)
    ]
    return json.dumps(items)


def _static_files(jwks: str) -> dict[str, str | bytes]:
    return {
        "ztauth.yaml": (
            f"apiVersion: ztauth/v1\nkind: Ledger\nmetadata: {{name: bench}}\nledger: {ZTID}\n"
        ),
        "entities/all.json": _entities(),
        "keys/idp.jwks.json": jwks,
        "trust/trust.yaml": (
            "apiVersion: ztauth/v1\nkind: TrustLevel\nname: basic\nrank: 1\n---\n"
            "apiVersion: ztauth/v1\nkind: SecurityGroup\nname: assistants\ntrust_level: basic\n"
            f'members: ["{ASSISTANT}"]\n---\n'
            "apiVersion: ztauth/v1\nkind: Delegation\nid: user-assistant-read\n"
            "delegator: {type: User}\ndelegate: {group: assistants}\n"
            "scope: {actions: [read, summarize], resources: {type: Document}}\n"
            f"consent: {{required: true, issuer: {IDP}}}\n---\n"
            f"apiVersion: ztauth/v1\nkind: Issuer\nname: {IDP}\njwks: keys/idp.jwks.json\n"
            f"algorithms: [EdDSA]\naudience: {ZTID}\nissues: [consent]\n"
        ),
    }


def _suites(cases: int) -> dict[str, str | bytes]:
    """``cases`` cases in 10 suites; one in ten goes through the delegation with a token."""
    files: dict[str, str | bytes] = {}
    per_suite = cases // 10
    for s in range(10):
        lines = [
            "apiVersion: ztauth/v1",
            "kind: TestSuite",
            f"name: suite-{s}",
            "at: 2026-06-01T12:00:00Z",
            "tokens:",
            "  consent:",
            f"    issuer: {IDP}",
            f'    claims: {{sub: u{s}, act: "{ASSISTANT}", scope: "read summarize"}}',
            "cases:",
        ]
        for c in range(per_suite):
            index = s * per_suite + c
            user = s if c % 10 == 0 else index % USERS
            lines += [
                f"  - name: case {c}",
                "    request:",
                f"      subject: {{type: User, id: u{user}}}",
                "      action: {name: read}",
                f"      resource: {{type: Document, id: d{index % DOCS}}}",
            ]
            if c % 10 == 0:
                lines += [
                    "      authorization_model:",
                    f'        principal: {{type: Workload, id: "{ASSISTANT}"}}',
                    "        tokens: {consent: {$token: consent}}",
                ]
            lines.append("    expect: {decision: allow}")
        files[f"tests/suite-{s}.yaml"] = "\n".join(lines) + "\n"
    return files


def build(root: Path, *, commits: int, policies: int, cases: int) -> BenchRepo:
    """The history: v1.0.0, then ``commits - 1`` commits flipping or adding a policy, v2.0.0."""
    repo = BenchRepo(root)
    jwks = json.dumps({"keys": [jose.generate_key("EdDSA").public_jwk]})
    flipped: set[int] = set()
    added = 0
    repo.write({**_static_files(jwks), **_suites(cases)})
    repo.write(
        {
            f"policies/p{n:02d}.cedar": _policy_file(n, policies, flipped, added)
            for n in range(FILES)
        }
    )
    repo.commit("v1")
    repo.tag("v1.0.0")
    for step in range(1, commits):
        if step % 2:
            flipped.add((step * 37) % policies)
            number = ((step * 37) % policies) // (policies // FILES)
        else:
            added += 1
            number = (added - 1) % FILES
        repo.write(
            {f"policies/p{number:02d}.cedar": _policy_file(number, policies, flipped, added)}
        )
        repo.commit(f"change {step}")
    repo.tag("v2.0.0")
    return repo


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--commits", type=int, default=200)
    parser.add_argument("--policies", type=int, default=2000)
    parser.add_argument("--cases", type=int, default=1000)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        started = time.perf_counter()
        repo = build(
            Path(tmp) / "repo", commits=args.commits, policies=args.policies, cases=args.cases
        )
        print(
            f"built {args.commits} commits, {args.policies} policies, {args.cases} cases "
            f"in {time.perf_counter() - started:.1f}s"
        )
        runner = CliRunner()
        times = []
        document = {}
        for _ in range(args.repeat):
            started = time.perf_counter()
            result = runner.invoke(
                app,
                [
                    "policy",
                    "diff",
                    "v1.0.0",
                    "v2.0.0",
                    "--ledger",
                    str(repo.root),
                    "--format",
                    "json",
                ],
            )
            times.append(time.perf_counter() - started)
            assert result.exit_code == 0, result.stderr
            document = json.loads(result.stdout)
        # A cold start, as CI runs it: a fresh interpreter, imports included.
        started = time.perf_counter()
        subprocess.run(
            [
                sys.executable,
                "-m",
                "ztauth_cli",
                "policy",
                "diff",
                "v1.0.0",
                "v2.0.0",
                "--ledger",
                str(repo.root),
                "--format",
                "json",
            ],
            check=True,
            capture_output=True,
        )
        cold = time.perf_counter() - started
        repo.close()
    summary = document["summary"]
    print(
        f"policy diff v1.0.0 v2.0.0: best {min(times):.2f}s, runs "
        + ", ".join(f"{t:.2f}s" for t in times)
    )
    print(f"cold process (python -m ztauth_cli policy diff ...): {cold:.2f}s")
    print(
        f"  {summary['decisions_evaluated']} decisions replayed per side, "
        f"{summary['decision_flips']} flips, {summary['policy_changes']} policy changes"
    )
    return 0 if max(min(times), cold) < 10 else 1


if __name__ == "__main__":
    raise SystemExit(main())
