"""A newcomer's first minutes: init with a relative folder, then release the first version."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from dulwich.repo import Repo
from typer.testing import CliRunner

from ztauth_cli.cli.main import app


def test_init_with_a_relative_folder_commits_every_file_and_can_be_released(
    runner: CliRunner, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    created = runner.invoke(app, ["policy", "init", "payments"])
    assert created.exit_code == 0, created.stderr

    with Repo(str(tmp_path / "payments")) as repo:
        tree = repo[repo[repo.head()].tree]
        committed = sorted(entry.path.decode() for entry in tree.iteritems())
    assert "ztauth.yaml" in committed
    assert "policies" in committed

    version = runner.invoke(app, ["policy", "version", "--ledger", "payments"])
    assert version.exit_code == 0, version.stderr
    # One commit past no tag, and not dirty: the commit holds exactly what init wrote.
    assert re.fullmatch(r"v0\.0\.0\+1\.g[0-9a-f]{7}", version.stdout.strip())

    bump = runner.invoke(app, ["policy", "version", "bump", "minor", "--ledger", "payments"])
    assert bump.exit_code == 0, bump.stderr
    assert bump.stdout.strip() == "v0.1.0"
    released = runner.invoke(app, ["policy", "version", "--ledger", "payments"])
    assert released.stdout.strip() == "v0.1.0"


@pytest.mark.parametrize("template", ["minimal", "delegation"])
def test_init_pre_commit_config_runs_every_hook_ztauth_provides(
    runner: CliRunner, tmp_path: Path, template: str
) -> None:
    import yaml

    target = tmp_path / "ledger"
    assert (
        runner.invoke(app, ["policy", "init", str(target), "--template", template]).exit_code == 0
    )
    config = yaml.safe_load((target / ".pre-commit-config.yaml").read_text())
    used = [hook["id"] for repo in config["repos"] for hook in repo["hooks"]]
    root = Path(__file__).resolve().parents[2]
    provided = [
        hook["id"] for hook in yaml.safe_load((root / ".pre-commit-hooks.yaml").read_text())
    ]
    assert used == provided
