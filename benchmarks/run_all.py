"""Run every benchmark of issue 12's table one after the other, in one run, with their defaults.

    python benchmarks/run_all.py [--skip search] [--only oneshot,eval]

The README quotes its figures from one such run, so that they agree with each other: absolute
times swing with the machine's load, ratios to an anchor timed in the same run much less.
Each benchmark's output is printed as it comes, under a heading with its command line; a
benchmark that fails is named at the end and the exit code is 1.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
# In the order of the README's Benchmarks table (search last: it takes the longest).
ORDER = ("oneshot", "lint", "eval", "test", "git", "diff", "serve", "search")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--only", default="", help="comma-separated names (default: all)")
    parser.add_argument("--skip", default="", help="comma-separated names to leave out")
    args = parser.parse_args(argv)
    only = {n for n in args.only.split(",") if n}
    skip = {n for n in args.skip.split(",") if n}
    unknown = (only | skip) - set(ORDER)
    if unknown:
        parser.error(
            f"unknown benchmark(s): {', '.join(sorted(unknown))}; known: {', '.join(ORDER)}"
        )
    failed: list[str] = []
    for name in ORDER:
        if (only and name not in only) or name in skip:
            continue
        command = [sys.executable, str(HERE / f"bench_{name}.py")]
        print(f"\n=== bench_{name}.py", flush=True)
        started = time.perf_counter()
        code = subprocess.run(command, check=False).returncode
        print(
            f"=== bench_{name}.py: exit {code}, {time.perf_counter() - started:.0f} s", flush=True
        )
        if code != 0:
            failed.append(name)
    if failed:
        print(f"\nfailed: {', '.join(failed)}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
