"""Benchmark `ztauth serve`: single AuthZEN evaluations over HTTP keep-alive connections.

    python benchmarks/bench_serve.py [--requests 3000] [--connections 16] [--workers 2]

On the same plain AuthZEN requests of sample-ledger/ (the seeded mix of bench_eval.py):

* ``ztauth serve`` with 1 worker and with ``--workers`` workers: a real server process on a
  free loopback port, driven by ``--connections`` concurrent clients (httpx, asyncio), each on
  its own keep-alive connection, one ``POST /access/v1/evaluation`` at a time. Requests/s over
  the measured run (after a warm-up) and the p50/p99 latency seen by the clients;
* ``ztauth eval`` (``run_eval``) on the same requests as one ``.jsonl`` stream, in-process:
  the CLI's batch path (256 requests per Cedar call), the ceiling a PDP answering one request
  per HTTP exchange is compared with.

It needs the ``serve`` extra and httpx (the ``test`` extra has both). The clients run on the
same machine as the server and compete with it for the CPU: the figures are a floor for a
server with a machine of its own.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

try:
    import httpx
    import starlette  # noqa: F401 - the server's own stack, checked before it is started
    import uvicorn  # noqa: F401
except ImportError as missing:
    # Not a dependency of a plain install: say what to install rather than a traceback.
    sys.exit(
        f"bench_serve.py needs {missing.name}: pip install 'ztauth[serve]' httpx "
        "(or the project's test extra, which has both)"
    )

from benchmarks.bench_eval import AT, SAMPLE, plain_requests
from ztauth_cli.cli.eval_cmd import run_eval
from ztauth_cli.report.formats import OutputFormat

_WARMUP = 300


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _start(workers: int) -> tuple[subprocess.Popen[bytes], str]:
    port = _free_port()
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "ztauth_cli",
            "serve",
            "--ledger",
            str(SAMPLE),
            "--port",
            str(port),
            "--workers",
            str(workers),
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            if httpx.get(url + "/readyz", timeout=1).status_code == 200:
                return process, url
        except httpx.TransportError:
            time.sleep(0.2)
    process.kill()
    raise SystemExit("ztauth serve did not start")


async def _drive(url: str, bodies: list[bytes], connections: int) -> tuple[float, list[float]]:
    """Send every body once over ``connections`` keep-alive connections; (seconds, latencies)."""
    queue: asyncio.Queue[bytes] = asyncio.Queue()
    for body in bodies:
        queue.put_nowait(body)
    latencies: list[float] = []
    headers = {"Content-Type": "application/json"}

    async def client() -> None:
        limits = httpx.Limits(max_connections=1, max_keepalive_connections=1)
        async with httpx.AsyncClient(base_url=url, limits=limits, timeout=60) as http:
            while True:
                try:
                    body = queue.get_nowait()
                except asyncio.QueueEmpty:
                    return
                started = time.perf_counter()
                response = await http.post("/access/v1/evaluation", content=body, headers=headers)
                latencies.append(time.perf_counter() - started)
                if response.status_code != 200:
                    raise SystemExit(f"unexpected {response.status_code}: {response.text}")

    started = time.perf_counter()
    await asyncio.gather(*(client() for _ in range(connections)))
    return time.perf_counter() - started, latencies


def _serve_run(workers: int, bodies: list[bytes], connections: int) -> dict[str, float]:
    process, url = _start(workers)
    try:
        asyncio.run(_drive(url, bodies[:_WARMUP], connections))
        seconds, latencies = asyncio.run(_drive(url, bodies, connections))
    finally:
        process.terminate()
        process.wait(timeout=30)
    latencies.sort()
    return {
        "rps": len(bodies) / seconds,
        "p50_ms": statistics.median(latencies) * 1000,
        "p99_ms": latencies[int(len(latencies) * 0.99) - 1] * 1000,
    }


def _eval_stream(requests: list[dict[str, Any]]) -> float:
    """Requests/s of ``ztauth eval`` on the requests as one .jsonl stream (best of 3)."""
    with tempfile.TemporaryDirectory() as folder:
        stream = Path(folder) / "requests.jsonl"
        stream.write_text("".join(json.dumps(r) + "\n" for r in requests), encoding="utf-8")
        best = float("inf")
        for _ in range(3):
            with open(os.devnull, "w", encoding="utf-8") as sink:
                started = time.perf_counter()
                run_eval(
                    request_file=str(stream),
                    ledger_path=SAMPLE,
                    rev=None,
                    at=AT,
                    fmt=OutputFormat.JSON,
                    stdout=sink,
                )
                best = min(best, time.perf_counter() - started)
    return len(requests) / best


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--requests", type=int, default=3000)
    parser.add_argument("--connections", type=int, default=16)
    parser.add_argument("--workers", type=int, default=2)
    args = parser.parse_args()

    requests = plain_requests(args.requests)
    bodies = [json.dumps(r).encode() for r in requests]
    eval_rps = _eval_stream(requests)
    rows = [("ztauth eval, .jsonl stream (in-process)", eval_rps, None, None)]
    for workers in sorted({1, args.workers}):
        result = _serve_run(workers, bodies, args.connections)
        label = f"ztauth serve, {workers} worker(s), {args.connections} keep-alive connections"
        rows.append((label, result["rps"], result["p50_ms"], result["p99_ms"]))

    print(f"{args.requests} plain requests of sample-ledger/, {os.cpu_count()} CPU(s)")
    print("| path | requests/s | vs eval stream | p50 ms | p99 ms |")
    print("|---|---:|---:|---:|---:|")
    for label, rps, p50, p99 in rows:
        latency = f"{p50:.1f} | {p99:.1f}" if p50 is not None and p99 is not None else "— | —"
        print(f"| {label} | {rps:,.0f} | {rps / eval_rps:.3f} | {latency} |")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
