"""Benchmark the Git side of a ledger: `policy version list`, `policy verify`, and reading one
revision with dulwich against `git archive <rev> | tar -x`.

    python benchmarks/bench_git.py [--commits 200] [--policies 2000] [--repeat 3]

Builds (not timed) a real repository with dulwich: a 2,000-policy ledger in 20 files, 200
commits each editing one policy file, re-signed (EdDSA) at every commit and tagged v1.N.0 every
20 commits. Each command then runs as a fresh `python -m ztauth_cli` process, start-up
included, as CI runs it; the best of --repeat runs is reported. Targets: verify under 2 s;
`policy log` over all 200 commits at most 10x one verify.
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
import tarfile
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from _support import BenchRepo, jwks, sign

from ztauth_cli import jose
from ztauth_cli.ledger.load import read_revision_files

FILES = 20
ZTID = "ztauth://bench.example/273165098782/ledgers/bench"
MANIFEST = f"""\
apiVersion: ztauth/v1
kind: Ledger
metadata: {{name: bench}}
ledger: {ZTID}
signers: keys/signers.jwks.json
settings: {{require_signatures: 1}}
"""


def _policy(index: int, revision: int) -> str:
    return (
        f'@id("p-{index:05d}")\n'
        f'permit (principal == User::"u{index % 100}", action == Action::"read", '
        f'resource == Document::"d{index % 200}") when {{ resource.level <= {revision % 5} }};\n'
    )


def _policy_file(number: int, policies: int, revision: int) -> str:
    per_file = policies // FILES
    return "\n".join(
        _policy(i, revision) for i in range(number * per_file, (number + 1) * per_file)
    )


def build(root: Path, *, commits: int, policies: int) -> BenchRepo:
    """The benchmark repository (not timed)."""
    key = jose.generate_key("EdDSA", kid="bench-release")
    repo = BenchRepo(root)
    repo.write(
        {
            "ztauth.yaml": MANIFEST,
            "keys/signers.jwks.json": jwks(key.public_jwk),
            **{f"policies/p{n:02d}.cedar": _policy_file(n, policies, 0) for n in range(FILES)},
        }
    )
    sign(root, key)
    repo.commit("initial ledger")
    for number in range(1, commits):
        repo.write(
            {
                f"policies/p{number % FILES:02d}.cedar": _policy_file(
                    number % FILES, policies, number
                )
            }
        )
        sign(root, key)
        repo.commit(f"change {number}")
        if number % 20 == 0:
            repo.tag(f"v1.{number // 20}.0")
    return repo


def best(runs: int, action: Callable[[], object]) -> float:
    """The best wall time of ``runs`` calls, in seconds."""
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        action()
        times.append(time.perf_counter() - start)
    return min(times)


def cli(root: Path, *args: str) -> Callable[[], object]:
    def run() -> object:
        done = subprocess.run(
            [sys.executable, "-m", "ztauth_cli", *args, "--ledger", str(root)],
            capture_output=True,
            text=True,
            check=False,
        )
        if done.returncode != 0:
            raise SystemExit(f"ztauth {' '.join(args)} failed:\n{done.stdout}{done.stderr}")
        return done

    return run


def git_archive(root: Path, rev: str, target: Path) -> None:
    """`git archive <rev> | tar -x` into ``target`` (tar extraction in Python, like `tar -x`)."""
    shutil.rmtree(target, ignore_errors=True)
    target.mkdir()
    archive = subprocess.run(
        ["git", "-C", str(root), "archive", "--format=tar", rev],
        capture_output=True,
        check=True,
    )
    tar_path = target.with_suffix(".tar")
    tar_path.write_bytes(archive.stdout)
    with tarfile.open(tar_path) as tar:
        tar.extractall(target, filter="data")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--commits", type=int, default=200)
    parser.add_argument("--policies", type=int, default=2000)
    parser.add_argument("--repeat", type=int, default=3)
    options = parser.parse_args()

    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp) / "repo"
        start = time.perf_counter()
        repo = build(root, commits=options.commits, policies=options.policies)
        repo.close()
        tags = options.commits // 20 - (1 if options.commits % 20 == 0 else 0)
        print(
            f"built {options.commits} commits, {options.policies} policies in {FILES} files, "
            f"{tags} version tags in {time.perf_counter() - start:.1f} s (not timed below)"
        )
        middle = f"v1.{max(1, tags // 2)}.0"
        rows = [
            ("ztauth --version (start-up only)", best(options.repeat, cli_version)),
            ("policy verify (working tree)", best(options.repeat, cli(root, "policy", "verify"))),
            (
                f"policy verify --rev {middle}",
                best(options.repeat, cli(root, "policy", "verify", "--rev", middle)),
            ),
            (
                f"policy version list ({tags} tags, each verified)",
                best(options.repeat, cli(root, "policy", "version", "list")),
            ),
            ("policy version", best(options.repeat, cli(root, "policy", "version"))),
            ("policy log --limit 20", best(options.repeat, cli(root, "policy", "log", "-n", "20"))),
            (
                f"policy log ({options.commits} commits, each verified)",
                best(options.repeat, cli(root, "policy", "log")),
            ),
        ]
        rows.append(
            (
                "read one revision: dulwich (read_revision_files)",
                best(options.repeat, lambda: read_revision_files(root, middle)),
            )
        )
        if shutil.which("git"):
            target = Path(tmp) / "archive"
            rows.append(
                (
                    "read one revision: git archive | tar -x",
                    best(options.repeat, lambda: git_archive(root, middle, target)),
                )
            )
        else:
            print("git is not installed: skipping the `git archive | tar -x` comparison")
        width = max(len(name) for name, _ in rows)
        for name, seconds in rows:
            print(f"{name.ljust(width)}  {seconds:6.3f} s")
        times = dict(rows)
        verify = times["policy verify (working tree)"]
        log = times[f"policy log ({options.commits} commits, each verified)"]
        print(f"policy log over {options.commits} commits / one policy verify: {log / verify:.1f}x")


def cli_version() -> object:
    return subprocess.run(
        [sys.executable, "-m", "ztauth_cli", "--version"], capture_output=True, check=True
    )


if __name__ == "__main__":
    main()
