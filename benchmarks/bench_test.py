"""Benchmark ``ztauth test``: 5,000 generated cases on a copy of the sample ledger.

The sample ledger's own suites (delegation, elevation, direct access, tokens) are replicated
into generated suites until there are ``--cases`` cases, then ``ztauth test`` runs in a fresh
interpreter (start-up, loading, minting, evaluation and reporting all included)::

    python benchmarks/bench_test.py [--cases 5000] [--repeat 3]
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
import tempfile
import time
from datetime import datetime
from pathlib import Path
from typing import Any

import yaml

REPO = Path(__file__).resolve().parent.parent
SAMPLE = REPO / "sample-ledger"


def _rfc3339(value: object) -> str:
    # PyYAML reads 'at:' as a datetime; the suite format wants the RFC 3339 string back.
    if isinstance(value, datetime):
        return value.isoformat().replace("+00:00", "Z")
    raise TypeError(f"cannot serialise {type(value).__name__}")


def generate(root: Path, cases: int, *, per_suite: int = 100) -> int:
    """Replace ``root/tests`` with generated suites holding ``cases`` cases; returns the count."""
    templates: list[dict[str, Any]] = []
    for path in sorted((SAMPLE / "tests").glob("*.yaml")):
        templates.extend(d for d in yaml.safe_load_all(path.read_text()) if d)
    shutil.rmtree(root / "tests")
    (root / "tests").mkdir()
    written = 0
    index = 0
    while written < cases:
        template = templates[index % len(templates)]
        count = min(per_suite, cases - written)
        source = template["cases"]
        suite = dict(template)
        suite["name"] = f"{template['name']}-{index:04d}"
        suite["cases"] = [
            {**source[i % len(source)], "name": f"{source[i % len(source)]['name']} #{i}"}
            for i in range(count)
        ]
        # A JSON round trip un-shares repeated objects: the loader refuses YAML aliases.
        text = yaml.safe_dump(json.loads(json.dumps(suite, default=_rfc3339)), sort_keys=False)
        (root / "tests" / f"generated-{index:04d}.yaml").write_text(text)
        written += count
        index += 1
    return written


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cases", type=int, default=5000)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp) / "ledger"
        shutil.copytree(SAMPLE, root)
        total = generate(root, args.cases)
        command = [
            sys.executable,
            "-m",
            "ztauth_cli",
            "test",
            "--ledger",
            str(root),
            "--format",
            "json",
            "--output",
            str(Path(tmp) / "report.json"),
        ]
        timings = []
        for _ in range(args.repeat):
            start = time.perf_counter()
            done = subprocess.run(command, capture_output=True, text=True, check=False)
            timings.append(time.perf_counter() - start)
            if done.returncode not in (0, 1):
                print(done.stderr, file=sys.stderr)
                return done.returncode
        summary = done.stderr.strip().splitlines()[-1] if done.stderr.strip() else "?"
        best = min(timings)
        print(
            f"ztauth test: {total} cases in {len(list((root / 'tests').iterdir()))} suites; "
            f"best of {args.repeat}: {best:.2f} s ({total / best:,.0f} cases/s); "
            f"runs: {', '.join(f'{t:.2f}' for t in timings)} s; result: {summary}"
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
