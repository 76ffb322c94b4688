"""Time `ztauth policy lint` on a generated ledger of N policies and on sample-ledger/.

    python benchmarks/bench_lint.py [--policies 2000] [--files 20] [--repeat 3] [--scale 4]

Each run is a fresh `python -m ztauth_cli policy lint` process (start-up included), as CI and
pre-commit run it. Targets: sample ledger well under 1 s, 2,000 policies under 3 s, and
linear: 4x the policies at most 4.2x the time.
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SAMPLE = ROOT / "sample-ledger"

MANIFEST = """\
apiVersion: ztauth/v1
kind: Ledger
metadata: {name: bench}
ledger: ztauth://bench.internal/100000000000/ledgers/bench
schema: schema.cedarschema
"""
SCHEMA = """\
entity Role;
entity User in [Role] { department: String };
entity Document { owner: User, department: String, level: Long };
action read, write, share appliesTo { principal: [User], resource: [Document] };
"""
TRUST = """\
apiVersion: ztauth/v1
kind: TrustLevel
name: level-{i}
rank: {i}
---
apiVersion: ztauth/v1
kind: SecurityGroup
name: group-{i}
trust_level: level-{i}
members: ["spiffe://bench.internal/w{i}/*"]
---
apiVersion: ztauth/v1
kind: Elevation
id: elevation-{i}
actor: {{group: group-{i}}}
subjects: {{type: User}}
actions: [read]
resources: {{type: Document}}
requires: {{min_trust_level: level-{i}, consent: false}}
"""
POLICY = """\
@id("policy-{n}")
permit (
  principal in Role::"role-{r}",
  action in [Action::"read", Action::"write"],
  resource is Document
)
when {{ resource.department == principal.department && resource.level < {n} }};

"""


def generate(root: Path, *, policies: int, files: int) -> None:
    """Write a lint-clean ledger with ``policies`` policies spread over ``files`` files."""
    (root / "policies").mkdir(parents=True)
    (root / "trust").mkdir()
    (root / "ztauth.yaml").write_text(MANIFEST)
    (root / "schema.cedarschema").write_text(SCHEMA)
    per_file = max(1, policies // files)
    for f in range(files):
        start = f * per_file
        stop = policies if f == files - 1 else start + per_file
        text = "".join(POLICY.format(n=n, r=n % 50) for n in range(start, stop))
        (root / "policies" / f"p{f:03}.cedar").write_text(text)
    (root / "trust" / "bench.yaml").write_text(
        "---\n".join(TRUST.format(i=i) for i in range(1, 21))
    )


def time_lint(ledger: Path, repeat: int) -> tuple[float, int]:
    """Median wall time of ``repeat`` lint runs, and the exit code of the last."""
    times = []
    code = 0
    for _ in range(repeat):
        start = time.perf_counter()
        proc = subprocess.run(
            [sys.executable, "-m", "ztauth_cli", "policy", "lint", "--ledger", str(ledger)],
            capture_output=True,
            text=True,
            check=False,
        )
        times.append(time.perf_counter() - start)
        code = proc.returncode
        if code not in (0, 1):
            raise SystemExit(proc.stderr)
    return statistics.median(times), code


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--policies", type=int, default=2000)
    parser.add_argument("--files", type=int, default=20)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--scale", type=int, default=4, help="also lint N times the policies")
    args = parser.parse_args()
    start = time.perf_counter()
    subprocess.run(
        [sys.executable, "-m", "ztauth_cli", "--version"], check=True, capture_output=True
    )
    startup = time.perf_counter() - start
    print(f"start-up (--version): {startup:.2f} s")
    if SAMPLE.is_dir():
        seconds, code = time_lint(SAMPLE, args.repeat)
        print(f"sample-ledger: {seconds:.2f} s (exit {code})")
    with tempfile.TemporaryDirectory() as tmp:
        ledger = Path(tmp) / "ledger"
        generate(ledger, policies=args.policies, files=args.files)
        seconds, code = time_lint(ledger, args.repeat)
        print(f"{args.policies} policies in {args.files} files: {seconds:.2f} s (exit {code})")
        if args.scale > 1:
            # Linear? The same ledger shape with --scale times the policies, in the same run.
            larger = Path(tmp) / "larger"
            count = args.policies * args.scale
            generate(larger, policies=count, files=args.files)
            scaled, code = time_lint(larger, args.repeat)
            print(
                f"{count} policies in {args.files} files: {scaled:.2f} s (exit {code}); "
                f"{scaled / seconds:.2f}x the time of {args.policies} (target <= 4.2x for 4x)"
            )


if __name__ == "__main__":
    main()
