"""Benchmark one `ztauth eval` process against a raw cedarpy process doing the same decision.

    python benchmarks/bench_oneshot.py [--policies 200] [--users 850] [--repeat 9]

Two ledgers: sample-ledger/ and a generated one (not timed) of ``--policies`` policies with an
entities JSON file of ``--users`` users (about 300 KB at the default). For each, one plain
AuthZEN request is decided by

* the anchor, ``raw_cedar.py``: a fresh Python process that reads the policy files, the
  entities JSON (``json.loads``) and the schema, and calls ``cedarpy.is_authorized`` once;
* ``ztauth eval``: a fresh ``python -m ztauth_cli eval`` process (start-up, loading, the
  signature gate and the response included).

Runs alternate (anchor, ztauth, anchor, ...) so that load on the machine hits both alike; the
medians and their ratio are printed. Target: ztauth at most 2x the anchor. Whole-process times
on a busy machine are noisy: compare ratios from one run, not figures across runs.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SAMPLE = ROOT / "sample-ledger"

# The anchor: what a hand-written Cedar integration costs for one decision.
RAW_CEDAR = """\
import json, sys
from pathlib import Path
import cedarpy

ledger = Path(sys.argv[1])
request = json.loads(Path(sys.argv[2]).read_text())
policies = "\\n".join(p.read_text() for p in sorted((ledger / "policies").rglob("*.cedar")))
files = sorted((ledger / "entities").glob("*.json"))
entities = [e for f in files for e in json.loads(f.read_text())]
schema = (ledger / "schema.cedarschema").read_text()
def uid(ref):
    return f'{ref["type"]}::"{ref["id"]}"'
result = cedarpy.is_authorized(
    {
        "principal": uid(request["subject"]),
        "action": f'Action::"{request["action"]["name"]}"',
        "resource": uid(request["resource"]),
        "context": request.get("context", {}),
    },
    policies,
    entities,
    schema=schema,
)
print(json.dumps({"decision": result.allowed}))
"""

MANIFEST = """\
apiVersion: ztauth/v1
kind: Ledger
metadata: {name: oneshot}
ledger: ztauth://bench.internal/100000000000/ledgers/oneshot
schema: schema.cedarschema
"""
SCHEMA = """\
entity Role;
entity User in [Role] { department: String, email: String, level: Long };
entity Document { owner: User, department: String, level: Long };
action read, write, share appliesTo { principal: [User], resource: [Document] };
"""
POLICY = """\
@id("policy-{n}")
permit (
  principal in Role::"role-{r}",
  action in [Action::"read", Action::"write"],
  resource is Document
)
when {{ resource.department == principal.department && resource.level <= {n} }};

"""


def generate(root: Path, *, policies: int, users: int) -> dict[str, object]:
    """Write a ledger of ``policies`` policies and ``users`` users; return one request."""
    (root / "policies").mkdir(parents=True)
    (root / "entities").mkdir()
    (root / "ztauth.yaml").write_text(MANIFEST)
    (root / "schema.cedarschema").write_text(SCHEMA)
    for f in range(10):
        text = "".join(POLICY.format(n=n, r=n % 50) for n in range(f, policies, 10))
        (root / "policies" / f"p{f:02}.cedar").write_text(text)
    entities: list[dict[str, object]] = [
        {"uid": {"type": "Role", "id": f"role-{r}"}, "attrs": {}, "parents": []} for r in range(50)
    ]
    departments = ("engineering", "finance", "sales", "legal")
    entities += [
        {
            "uid": {"type": "User", "id": f"user-{u:05}"},
            "attrs": {
                "department": departments[u % 4],
                "email": f"user-{u:05}@bench.example",
                "level": u % 7,
            },
            "parents": [{"type": "Role", "id": f"role-{u % 50}"}],
        }
        for u in range(users)
    ]
    entities += [
        {
            "uid": {"type": "Document", "id": f"doc-{d:04}"},
            "attrs": {
                "owner": {"__entity": {"type": "User", "id": f"user-{d % users:05}"}},
                "department": departments[d % 4],
                "level": d % 300,
            },
            "parents": [],
        }
        for d in range(users // 3)
    ]
    (root / "entities" / "all.json").write_text(json.dumps(entities, indent=2))
    return {
        "subject": {"type": "User", "id": "user-00001"},
        "action": {"name": "read"},
        "resource": {"type": "Document", "id": "doc-0005"},
    }


def _run(argv: list[str], env: dict[str, str]) -> float:
    start = time.perf_counter()
    done = subprocess.run(argv, capture_output=True, text=True, check=False, env=env)
    seconds = time.perf_counter() - start
    if done.returncode not in (0, 1) or '"decision"' not in done.stdout:
        raise SystemExit(f"{' '.join(argv)} failed:\n{done.stdout}{done.stderr}")
    return seconds


def compare(
    ledger: Path, request: Path, raw: Path, repeat: int, env: dict[str, str]
) -> tuple[float, float]:
    """Median whole-process times of the anchor and of ``ztauth eval``, runs interleaved."""
    anchor_argv = [sys.executable, str(raw), str(ledger), str(request)]
    ztauth_argv = [
        sys.executable,
        "-m",
        "ztauth_cli",
        "eval",
        "--ledger",
        str(ledger),
        "--format",
        "json",
        str(request),
    ]
    anchor, ztauth = [], []
    _run(anchor_argv, env)  # warm the file and bytecode caches for both
    _run(ztauth_argv, env)
    for _ in range(repeat):
        anchor.append(_run(anchor_argv, env))
        ztauth.append(_run(ztauth_argv, env))
    return statistics.median(anchor), statistics.median(ztauth)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--policies", type=int, default=200)
    parser.add_argument("--users", type=int, default=850)
    parser.add_argument("--repeat", type=int, default=9)
    options = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        base = Path(tmp)
        raw = base / "raw_cedar.py"
        raw.write_text(RAW_CEDAR)
        cases: list[tuple[str, Path, Path]] = []
        if SAMPLE.is_dir():
            # A copy outside any Git repository, as both processes see the same plain folder.
            sample = base / "sample-ledger"
            shutil.copytree(SAMPLE, sample)
            cases.append(("sample-ledger", sample, sample / "requests/alice-reads-q3-report.json"))
        generated = base / "generated"
        request = generate(generated, policies=options.policies, users=options.users)
        request_path = base / "request.json"
        request_path.write_text(json.dumps(request))
        size = (generated / "entities" / "all.json").stat().st_size
        name = f"{options.policies} policies, {size // 1024} KB entities"
        cases.append((name, generated, request_path))
        # Byte-compiled modules, as an installed package has them (pip compiles on install),
        # even where the environment asks Python not to write bytecode: kept in the temp dir.
        env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
        env["PYTHONPYCACHEPREFIX"] = str(base / "pycache")
        for name, ledger, path in cases:
            anchor, ztauth = compare(ledger, path, raw, options.repeat, env)
            print(
                f"{name}: raw cedarpy {anchor:.3f} s, ztauth eval {ztauth:.3f} s, "
                f"ratio {ztauth / anchor:.2f}x (target <= 2x)"
            )


if __name__ == "__main__":
    main()
