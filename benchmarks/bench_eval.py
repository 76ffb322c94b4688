"""Benchmark `ztauth eval`: the ZTAuth* engine against raw cedarpy on the sample ledger.

    python benchmarks/bench_eval.py [--requests 10000] [--stream-lines 1000000] [--repeat 5]

In one run, on the same 10,000 plain AuthZEN requests (a seeded mix of users, actions and
resources of sample-ledger/):

* raw cedarpy: the equivalent Cedar requests through ``cedarpy.is_authorized_batch`` with the
  PolicySet and Entities parsed once (the floor: Cedar alone, no ZTAuth* pipeline), without and
  with the ledger's Schema handle (Cedar then validates requests and entities, as ztauth does);
* ztauth ``Evaluator.evaluate_all`` on one AuthZEN batch request (``evaluations``);
* ztauth ``run_eval`` streaming the requests as a ``.jsonl`` file (JSON parsing and response
  serialisation included, ledger loading excluded);
* ztauth on delegated requests: an assistant acting for a user with a consent token and an
  attestation token (keys generated here, trusted through ``issuer_keys``) — every request
  verifies two signatures.

Then the peak Python memory (tracemalloc) of streaming a 10,000-line and a
``--stream-lines``-line ``.jsonl`` file through ``run_eval``: it must stay flat. Targets: the
``.jsonl`` stream at least 0.7x the throughput of raw cedarpy validating against the same
schema (the work Cedar does for ztauth), timed in the same rounds; delegated requests at most
3x the cost of plain ones. The stream cycles 1,000 generated requests (276 distinct Cedar
requests), as a replayed access log repeats itself; ztauth remembers no decision across lines,
only per-subject trace steps and the encoding of Cedar's distinct answers. A second stream
with no two lines alike shows what that remembering is worth, against raw cedarpy on the same
distinct requests.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import sys
import tempfile
import time
import tracemalloc
from collections.abc import Callable
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

from ztauth_cli import jose
from ztauth_cli.cli.eval_cmd import run_eval
from ztauth_cli.engine import Evaluator
from ztauth_cli.ledger import load
from ztauth_cli.model.decision import Decision, ReasonCode
from ztauth_cli.report.formats import OutputFormat

SAMPLE = Path(__file__).resolve().parent.parent / "sample-ledger"
AT = "2026-06-01T12:00:00Z"
NOW = datetime(2026, 6, 1, 12, tzinfo=timezone.utc)
IDP = "https://idp.acme.internal"
ATTEST = "https://attest.acme.internal"
ZTID = "ztauth://acme.internal/273165098782/ledgers/acme-documents"
CHAT = "spiffe://acme.internal/assistant/chat"

USERS = ("alice", "bob", "carol", "dave")
DOCUMENTS = ("q3-report", "roadmap", "handbook", "budget-2025")
INVOICES = ("inv-1001", "inv-1002", "inv-1003")
EXPORTS = ("finance-q3-ledger", "engineering-headcount")
ACTIONS = {
    "read": ("Document", DOCUMENTS),
    "summarize": ("Document", DOCUMENTS),
    "share": ("Document", DOCUMENTS),
    "delete": ("Document", DOCUMENTS),
    "charge": ("Invoice", INVOICES),
    "refund": ("Invoice", INVOICES),
    "export": ("Export", EXPORTS),
}


def plain_requests(count: int, seed: int = 7) -> list[dict[str, Any]]:
    """``count`` AuthZEN requests (no authorization_model): subjects acting for themselves."""
    rng = random.Random(seed)
    requests = []
    for _ in range(count):
        action = rng.choice(sorted(ACTIONS))
        kind, ids = ACTIONS[action]
        requests.append(
            {
                "subject": {"type": "User", "id": rng.choice(USERS)},
                "action": {"name": action},
                "resource": {"type": kind, "id": rng.choice(ids)},
                "context": {"channel": rng.choice(("web", "chat", "orders-queue"))},
            }
        )
    return requests


def cedar_requests(requests: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The same requests in Cedar's form, for raw cedarpy."""
    return [
        {
            "principal": {"type": r["subject"]["type"], "id": r["subject"]["id"]},
            "action": {"type": "Action", "id": r["action"]["name"]},
            "resource": {"type": r["resource"]["type"], "id": r["resource"]["id"]},
            "context": r["context"],
        }
        for r in requests
    ]


def best(repeat: int, run: Callable[[], Any]) -> float:
    """The best wall time of ``repeat`` runs, in seconds."""
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        run()
        times.append(time.perf_counter() - start)
    return min(times)


def distinct_requests(count: int) -> list[dict[str, Any]]:
    """``count`` plain requests no two alike: each names its own channel (which a policy
    reads, so Cedar sees it), so that nothing a run remembers is reused from line to line."""
    return [
        {**r, "context": {"channel": f"{r['context']['channel']}-{index}"}}
        for index, r in enumerate(plain_requests(count))
    ]


def raw_cedar(
    requests: list[dict[str, Any]], *, schema: bool
) -> tuple[Callable[[], list[bool]], list[bool]]:
    """A callable running the Cedar requests through raw cedarpy (handles parsed once); with
    ``schema`` Cedar validates each request and the entities against the ledger's schema, as
    ztauth does."""
    import cedarpy

    ledger = load(SAMPLE)
    text = "\n".join(f.text for f in ledger.policy_files)
    entities = [e for f in ledger.entity_files for e in f.entities]
    policy_set = cedarpy.PolicySet.from_str(text)
    handle_schema = (
        cedarpy.Schema.from_str(ledger.schema_text)
        if schema and ledger.schema_text is not None
        else None
    )
    handle = cedarpy.Entities.from_json_str(json.dumps(entities), schema=handle_schema)
    cedar = cedar_requests(requests)

    def run() -> list[bool]:
        return [
            r.allowed for r in cedarpy.is_authorized_batch(cedar, policy_set, handle, handle_schema)
        ]

    return run, run()


def interleaved(repeat: int, *runs: Callable[[], Any]) -> list[float]:
    """Best wall time of each run over ``repeat`` rounds, the runs alternating within a round
    so that a busy machine slows them alike."""
    times: list[list[float]] = [[] for _ in runs]
    for _ in range(repeat):
        for index, run in enumerate(runs):
            start = time.perf_counter()
            run()
            times[index].append(time.perf_counter() - start)
    return [min(t) for t in times]


def delegated_requests(count: int, evaluator_keys: dict[str, jose.KeyPair]) -> list[dict[str, Any]]:
    """Assistant requests for alice, each with its own consent and attestation tokens."""
    idp, attest = evaluator_keys["idp"], evaluator_keys["attest"]
    # Distinct by their issue times, all in the past and within the attestation's 5-minute
    # max_age: every token verifies (a refused one would time the refusal, not the check).
    issued = int((NOW - timedelta(minutes=1)).timestamp())
    distinct = min(count, 200)
    bundles = []
    for index in range(distinct):
        consent = jose.sign(
            {
                "iss": IDP,
                "aud": ZTID,
                "sub": "alice",
                "act": CHAT,
                "scope": "read summarize",
                "iat": issued - index,
                "exp": issued + 3600,
            },
            idp.private_pem,
            alg=idp.alg,
            kid=idp.kid,
        )
        attestation = jose.sign(
            {"iss": ATTEST, "aud": ZTID, "sub": CHAT, "iat": issued - index},
            attest.private_pem,
            alg=attest.alg,
            kid=attest.kid,
        )
        bundles.append({"consent": consent, "attestation": attestation})
    return [
        {
            "subject": {"type": "User", "id": "alice"},
            "action": {"name": ("read", "summarize")[i % 2]},
            "resource": {"type": "Document", "id": DOCUMENTS[i % len(DOCUMENTS)]},
            "context": {"channel": "chat"},
            "authorization_model": {
                "principal": {"type": "Workload", "id": CHAT},
                "tokens": bundles[i % distinct],
            },
        }
        for i in range(count)
    ]


def write_stream(path: Path, lines: int, requests: list[dict[str, Any]] | None = None) -> None:
    """A .jsonl stream of ``lines`` plain requests (by default 1,000 cycled), line by line."""
    requests = requests or plain_requests(1000)
    with path.open("w", encoding="utf-8") as handle:
        for index in range(lines):
            handle.write(json.dumps(requests[index % len(requests)]) + "\n")


def stream_once(path: Path) -> None:
    with open(os.devnull, "w", encoding="utf-8") as sink:
        run_eval(
            request_file=str(path),
            ledger_path=SAMPLE,
            rev=None,
            at=AT,
            fmt=OutputFormat.JSON,
            stdout=sink,
        )


def peak_memory(path: Path) -> int:
    tracemalloc.start()
    try:
        stream_once(path)
        return tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--requests", type=int, default=10_000)
    parser.add_argument("--stream-lines", type=int, default=1_000_000)
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    count = args.requests

    raw_run, raw_results = raw_cedar(plain_requests(count), schema=False)
    schema_run, schema_results = raw_cedar(plain_requests(count), schema=True)
    if schema_results != raw_results:
        print("MISMATCH: raw cedarpy with and without the schema disagree", file=sys.stderr)
        return 1

    keys = {"idp": jose.generate_key("EdDSA"), "attest": jose.generate_key("ES256")}
    ledger = load(SAMPLE)
    evaluator = Evaluator.from_ledger(
        ledger,
        issuer_keys={IDP: [keys["idp"].public_jwk], ATTEST: [keys["attest"].public_jwk]},
    )
    plain = plain_requests(count)
    batch = {"evaluations": plain}
    decisions = [d.allowed for d in evaluator.evaluate_all(batch, now=NOW)]
    if decisions != raw_results:
        print("MISMATCH: ztauth and raw cedarpy disagree on plain requests", file=sys.stderr)
        return 1
    raw_time, schema_time, batch_time = interleaved(
        args.repeat, raw_run, schema_run, lambda: evaluator.evaluate_all(batch, now=NOW)
    )

    delegated = delegated_requests(count, keys)
    delegated_decisions: list[Decision] = []
    # A fresh engine for each delegated round: tokens are remembered per engine (one run), so
    # reusing one would time only cache hits after the first round.
    fresh = iter(
        [
            Evaluator.from_ledger(
                ledger,
                issuer_keys={IDP: [keys["idp"].public_jwk], ATTEST: [keys["attest"].public_jwk]},
            )
            for _ in range(args.repeat)
        ]
    )

    def engine_delegated() -> None:
        engine = next(fresh)
        delegated_decisions[:] = engine.evaluate_many(delegated, now=NOW)

    plain_time, delegated_time = interleaved(
        args.repeat, lambda: evaluator.evaluate_many(plain, now=NOW), engine_delegated
    )

    refused = [d for d in delegated_decisions if d.code is ReasonCode.INVALID_TOKEN]
    if refused:
        print(f"BENCHMARK BUG: a delegated token is refused: {refused[0].message}", file=sys.stderr)
        return 1
    delegated_allowed = [d.allowed for d in delegated_decisions]

    with tempfile.TemporaryDirectory() as folder:
        small = Path(folder) / "small.jsonl"
        large = Path(folder) / "large.jsonl"
        write_stream(small, count)
        # Loading the ledger is included in run_eval; time it alone to subtract it.
        load_time = best(args.repeat, lambda: Evaluator.from_ledger(load(SAMPLE)))
        # Against raw cedarpy timed in the same rounds: the ratio compares like with like on a
        # machine whose load changes from one minute to the next.
        stream_raw_time, stream_schema_time, stream_time = interleaved(
            args.repeat, raw_run, schema_run, lambda: stream_once(small)
        )
        stream_time -= load_time
        distinct = Path(folder) / "distinct.jsonl"
        write_stream(distinct, count, distinct_requests(count))
        distinct_schema_run, _ = raw_cedar(distinct_requests(count), schema=True)
        distinct_schema_time, distinct_time = interleaved(
            args.repeat, distinct_schema_run, lambda: stream_once(distinct)
        )
        distinct_time -= load_time
        write_stream(large, args.stream_lines)
        small_peak = peak_memory(small)
        large_peak = peak_memory(large)

    def rate(seconds: float) -> str:
        return f"{count / seconds:>10,.0f} req/s"

    print(f"sample-ledger, {count:,} requests, best of {args.repeat}")
    print(f"  raw cedarpy is_authorized_batch         {rate(raw_time)}")
    print(f"  raw cedarpy, schema-validated           {rate(schema_time)}")
    print(
        f"  ztauth evaluate_all (AuthZEN batch)      {rate(batch_time)}"
        f"   ratio {raw_time / batch_time:.2f} of raw cedarpy, "
        f"{schema_time / batch_time:.2f} of schema-validated raw cedarpy"
    )
    print(
        f"  ztauth run_eval .jsonl stream            {rate(stream_time)}"
        f"   ratio {stream_raw_time / stream_time:.2f} of raw cedarpy, "
        f"{stream_schema_time / stream_time:.2f} of schema-validated raw cedarpy, both timed "
        f"alongside (JSON in/out, trace included; ledger load {load_time * 1000:.0f} ms)"
    )
    print(
        f"  ztauth .jsonl stream, no two lines alike {rate(distinct_time)}"
        f"   ratio {distinct_schema_time / distinct_time:.2f} of schema-validated raw cedarpy "
        "on the same requests, timed alongside"
    )
    print(
        f"  ztauth delegated (2 JWS verified/req)    {rate(delegated_time)}"
        f"   {sum(delegated_allowed):,} allowed; {delegated_time / plain_time:.2f}x the cost of "
        f"plain evaluate_many ({rate(plain_time).strip()}; target <= 3x)"
    )
    print(
        f"  peak Python memory, .jsonl stream: {small_peak / 2**20:.1f} MiB for {count:,} lines, "
        f"{large_peak / 2**20:.1f} MiB for {args.stream_lines:,} lines"
    )
    # ztauth validates against the schema like the schema-validated raw run: compare alike.
    stream_met = stream_schema_time / stream_time >= 0.7
    delegated_met = delegated_time / plain_time <= 3
    print(
        "  target .jsonl stream >= 0.7 x raw cedarpy (schema-validated): "
        f"{'met' if stream_met else 'NOT met'}; delegated <= 3x plain: "
        f"{'met' if delegated_met else 'NOT met'}"
    )
    return 0 if stream_met and delegated_met else 1


if __name__ == "__main__":
    sys.exit(main())
