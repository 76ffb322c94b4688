"""Every benchmark runs to its end: the README quotes their figures and tells users to run them.

Each is run as a user runs it (a fresh interpreter, its own command line), at a size small
enough for the test suite; its figures are not checked (timings belong to benchmark runs, not
to tests), only that it finishes, prints the lines the README quotes, and never crashes.
"""

from __future__ import annotations

import subprocess
import sys

import pytest

from tests.conftest import REPO_ROOT

BENCHMARKS = REPO_ROOT / "benchmarks"

# (script, small arguments, a line every run prints). bench_eval exits 1 when a target is not
# met (at this size it may be), every other one exits 0.
CASES = [
    ("bench_oneshot.py", ["--policies", "20", "--users", "20", "--repeat", "1"], "ratio"),
    ("bench_lint.py", ["--policies", "40", "--files", "2", "--repeat", "1"], "policies in 2"),
    (
        "bench_eval.py",
        ["--requests", "200", "--stream-lines", "300", "--repeat", "1"],
        "peak Python memory",
    ),
    ("bench_test.py", ["--cases", "100", "--repeat", "1"], "test / eval"),
    (
        "bench_git.py",
        # A version tag every 20 commits: 41 make two, as the benchmark needs.
        ["--commits", "41", "--policies", "20", "--repeat", "1"],
        "policy log over 41 commits",
    ),
    (
        "bench_diff.py",
        ["--commits", "6", "--policies", "20", "--cases", "20", "--repeat", "1"],
        "decisions replayed per side",
    ),
    ("bench_search.py", ["--users", "20", "--documents", "20", "--actions", "2"], "principal"),
    ("bench_serve.py", ["--requests", "60", "--connections", "2", "--workers", "1"], "serve"),
]


@pytest.mark.parametrize(("script", "arguments", "expected"), CASES, ids=[c[0] for c in CASES])
def test_each_benchmark_runs_to_its_end(script: str, arguments: list[str], expected: str) -> None:
    done = subprocess.run(
        [sys.executable, str(BENCHMARKS / script), *arguments],
        capture_output=True,
        text=True,
        check=False,
        timeout=600,
    )
    assert "Traceback" not in done.stderr, done.stderr
    assert done.returncode in ((0, 1) if script == "bench_eval.py" else (0,)), (
        done.stdout + done.stderr
    )
    assert expected in done.stdout, done.stdout


def test_every_benchmark_is_run_here_and_by_run_all() -> None:
    scripts = sorted(p.name for p in BENCHMARKS.glob("bench_*.py"))
    assert scripts == sorted(c[0] for c in CASES)
    run_all = (BENCHMARKS / "run_all.py").read_text(encoding="utf-8")
    for script in scripts:
        assert f'"{script.removeprefix("bench_").removesuffix(".py")}"' in run_all
