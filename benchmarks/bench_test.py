"""Benchmark ``ztauth test``: 5,000 generated cases on a copy of the sample ledger.

The sample ledger's own suites (delegation, elevation, direct access, tokens) are replicated
into generated suites until there are ``--cases`` cases, then ``ztauth test`` runs in a fresh
interpreter (start-up, loading, minting, evaluation and reporting all included). The anchor,
timed in the same run: the same requests (tokens minted the same way) through
``ztauth eval --jsonl``. Target: test under 1.5x eval::

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
        # tests/ also holds other kinds (an AccessSnapshot): only suites are templates.
        templates.extend(
            d for d in yaml.safe_load_all(path.read_text()) if d and d.get("kind") == "TestSuite"
        )
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


def eval_inputs(root: Path, target: Path) -> tuple[Path, Path, str]:
    """The requests of every case of ``root``'s suites, tokens minted as ``ztauth test`` mints
    them, as a ``.jsonl`` file; the minting keys as a JWKS file; the suites' clock."""
    from ztauth_cli.ledger import load
    from ztauth_cli.testing import IssuerKeys, mint_suite_tokens
    from ztauth_cli.testing.tokens import resolve_request

    ledger = load(root)
    suites = ledger.suites
    at = {suite.at for suite in suites}
    if len(at) != 1 or None in at:
        raise SystemExit("the generated suites must share one 'at' to be replayed by eval")
    moment = next(iter(at))
    assert moment is not None
    keys = IssuerKeys.for_suites(suites, ledger=ledger)
    tokens = mint_suite_tokens(suites, ledger, keys=keys, now=moment)
    requests = target / "requests.jsonl"
    requests.write_text(
        "".join(
            json.dumps(resolve_request(case, tokens.for_suite(suite.name))) + "\n"
            for suite in suites
            for case in suite.cases
        )
    )
    jwks = target / "suite-keys.jwks.json"
    trusted = keys.trusted_jwks(ledger)
    jwks.write_text(json.dumps({"keys": [k for name in sorted(trusted) for k in trusted[name]]}))
    return requests, jwks, moment.isoformat().replace("+00:00", "Z")


def _timed(command: list[str]) -> tuple[float, subprocess.CompletedProcess[str]]:
    start = time.perf_counter()
    done = subprocess.run(command, capture_output=True, text=True, check=False)
    return time.perf_counter() - start, done


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
        # The anchor: the same requests through `ztauth eval --jsonl`, on the ledger without
        # the generated suites (an eval never needs them).
        plain = Path(tmp) / "plain-ledger"
        shutil.copytree(root, plain, ignore=shutil.ignore_patterns("tests"))
        requests, jwks, at = eval_inputs(root, Path(tmp))
        anchor = [
            sys.executable,
            "-m",
            "ztauth_cli",
            "eval",
            "--ledger",
            str(plain),
            "--at",
            at,
            "--jwks",
            str(jwks),
            "--jsonl",
            "--format",
            "json",
            "--output",
            str(Path(tmp) / "decisions.json"),
            str(requests),
        ]
        timings, anchors = [], []
        for _ in range(args.repeat):  # interleaved, so that load on the machine hits both
            seconds, done = _timed(command)
            timings.append(seconds)
            if done.returncode not in (0, 1):
                print(done.stderr, file=sys.stderr)
                return done.returncode
            seconds, evaluated = _timed(anchor)
            anchors.append(seconds)
            if evaluated.returncode not in (0, 1):
                print(evaluated.stderr, file=sys.stderr)
                return evaluated.returncode
        summary = done.stderr.strip().splitlines()[-1] if done.stderr.strip() else "?"
        best, best_eval = min(timings), min(anchors)
        print(
            f"ztauth test: {total} cases in {len(list((root / 'tests').iterdir()))} suites; "
            f"best of {args.repeat}: {best:.2f} s ({total / best:,.0f} cases/s); "
            f"runs: {', '.join(f'{t:.2f}' for t in timings)} s; result: {summary}"
        )
        print(
            f"ztauth eval --jsonl, same {total} requests: best {best_eval:.2f} s; "
            f"test / eval: {best / best_eval:.2f}x (target < 1.5x)"
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
