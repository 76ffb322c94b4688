"""Benchmark `ztauth search`: AuthZEN search over 10,000 entities x 20 actions, next to the
plain `eval` throughput of the same engine on the same ledger.

    python benchmarks/bench_search.py [--users 5000] [--documents 5000] [--actions 20]

A generated ledger (written to a temporary folder, loaded by the one loader): ``--users`` users
in 10 departments, ``--documents`` documents with an owner and a department, and per action an
owner rule, a department rule and a forbid on secret documents. Measured, in one run:

* ``eval``: ``Evaluator.evaluate_many`` over as many random plain requests as the resource
  searches evaluate (the engine's throughput, the baseline);
* resource search: one user, every action (each search evaluates every document);
* subject search: one document, every action (each evaluates every user);
* action search: 100 (user, document) pairs;
* a principal search over the sample ledger, for scale (probe tokens minted and verified).

Every search result is a full evaluation, so searches/s follow evaluations/s.
"""

from __future__ import annotations

import argparse
import random
import sys
import tempfile
import time
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from tests.support.ledgers import write_ledger
from ztauth_cli.cli.search import principal_prober
from ztauth_cli.engine import Evaluator
from ztauth_cli.ledger import load
from ztauth_cli.search import Candidates, search, search_principals

NOW = datetime(2026, 6, 1, 12, tzinfo=timezone.utc)
SAMPLE = Path(__file__).resolve().parent.parent / "sample-ledger"


def _ledger(root: Path, *, users: int, documents: int, actions: int) -> list[str]:
    rng = random.Random(7)
    names = [f"act{i:02d}" for i in range(actions)]
    people = [
        {"uid": {"type": "User", "id": f"u{i:05d}"}, "attrs": {"dept": f"d{i % 10}"}, "parents": []}
        for i in range(users)
    ]
    docs = [
        {
            "uid": {"type": "Doc", "id": f"doc{i:05d}"},
            "attrs": {
                "owner": {"__entity": {"type": "User", "id": f"u{rng.randrange(users):05d}"}},
                "dept": f"d{rng.randrange(10)}",
                "secret": rng.random() < 0.1,
            },
            "parents": [],
        }
        for i in range(documents)
    ]
    policies = []
    for name in names:
        policies.append(
            f'@id("owner-{name}")\npermit (principal, action == Action::"{name}", resource is Doc)'
            " when { resource.owner == principal };"
        )
        policies.append(
            f'@id("dept-{name}")\npermit (principal is User, action == Action::"{name}", '
            "resource is Doc) when { resource.dept == principal.dept };"
        )
        policies.append(
            f'@id("secret-{name}")\nforbid (principal, action == Action::"{name}", resource is Doc)'
            " when { resource.secret } unless { resource.owner == principal };"
        )
    write_ledger(
        root,
        manifest=(
            "apiVersion: ztauth/v1\nkind: Ledger\nmetadata: {name: bench-search}\n"
            "ledger: ztauth://bench.example/100000000000/ledgers/search\n"
            'runtime: {language: cedar, version: "4"}\n'
        ),
        policies={"docs": "\n\n".join(policies)},
        # Files of 1,000 entities: the loader caps each ledger file at 1 MiB.
        entities={
            f"{kind}-{start // 1000:02d}": items[start : start + 1000]
            for kind, items in (("people", people), ("docs", docs))
            for start in range(0, len(items), 1000)
        },
    )
    return names


def _timed(label: str, evaluations: int, run: Any) -> float:
    start = time.perf_counter()
    run()
    seconds = time.perf_counter() - start
    print(
        f"{label:<44} {seconds:8.2f} s  {evaluations:>8} evaluations  "
        f"{evaluations / seconds:>9,.0f} evaluations/s"
    )
    return seconds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--users", type=int, default=5000)
    parser.add_argument("--documents", type=int, default=5000)
    parser.add_argument("--actions", type=int, default=20)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="ztauth-bench-search-") as folder:
        root = Path(folder)
        actions = _ledger(root, users=args.users, documents=args.documents, actions=args.actions)
        start = time.perf_counter()
        ledger = load(root)
        evaluator = Evaluator.from_ledger(ledger)
        candidates = Candidates.from_ledger(ledger)
        print(
            f"ledger: {args.users} users + {args.documents} documents = "
            f"{args.users + args.documents} entities, {len(actions)} actions, "
            f"{3 * len(actions)} policies; loaded in {time.perf_counter() - start:.2f} s"
        )
    rng = random.Random(11)
    total = args.documents * len(actions)
    plain = [
        {
            "subject": {"type": "User", "id": f"u{rng.randrange(args.users):05d}"},
            "action": {"name": rng.choice(actions)},
            "resource": {"type": "Doc", "id": f"doc{rng.randrange(args.documents):05d}"},
        }
        for _ in range(total)
    ]
    _timed(f"eval: {total} plain requests", total, lambda: evaluator.evaluate_many(plain, now=NOW))

    found: list[int] = []

    def resources() -> None:
        for action in actions:
            body = {
                "subject": {"type": "User", "id": "u00042"},
                "action": {"name": action},
                "resource": {"type": "Doc"},
            }
            result = search(evaluator, body, kind="resource", candidates=candidates, now=NOW)
            found.append(result.page.total)

    _timed(f"search resource: 1 user x {len(actions)} actions", total, resources)
    print(f"  {sum(found)} documents permitted in all")

    def subjects() -> None:
        for action in actions:
            body = {
                "subject": {"type": "User"},
                "action": {"name": action},
                "resource": {"type": "Doc", "id": "doc00042"},
            }
            search(evaluator, body, kind="subject", candidates=candidates, now=NOW)

    _timed(
        f"search subject: 1 document x {len(actions)} actions",
        args.users * len(actions),
        subjects,
    )

    def action_searches() -> None:
        for i in range(100):
            body = {
                "subject": {"type": "User", "id": f"u{i:05d}"},
                "resource": {"type": "Doc", "id": f"doc{i:05d}"},
            }
            search(evaluator, body, kind="action", candidates=candidates, now=NOW)

    _timed("search action: 100 (user, document) pairs", 100 * len(actions), action_searches)

    sample = load(SAMPLE)
    prober = principal_prober(sample, pin=None)  # the ledger's own signer pin, as search does
    sample_candidates = Candidates.from_ledger(sample)
    body = {
        "authorization_model": {
            "principal": {"type": "Workload", "id": "spiffe://acme.internal/assistant/chat"}
        }
    }
    counted: list[int] = []

    def principal() -> None:
        counted.append(
            search_principals(prober, body, candidates=sample_candidates, now=NOW).evaluations
        )

    principal()  # warm up: mints and caches the probe tokens
    start = time.perf_counter()
    principal()
    seconds = time.perf_counter() - start
    print(
        f"{'search principal: assistant, sample ledger':<44} {seconds:8.2f} s  "
        f"{counted[-1]:>8} evaluations  {counted[-1] / seconds:>9,.0f} evaluations/s "
        "(delegated: 2 token signatures each)"
    )


if __name__ == "__main__":
    main()
