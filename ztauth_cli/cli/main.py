"""The root command group: global options, sub-command registration, the one error handler."""

from __future__ import annotations

import sys
import traceback
from typing import Any

import click
import typer
from typer.core import TyperGroup

from ztauth_cli import __version__
from ztauth_cli.cli import (
    audit,
    eval_cmd,
    keys,
    policy,
    policy_diff,
    policy_lifecycle,
    test_cmd,
    token,
)
from ztauth_cli.errors import ZtauthError

__all__ = ["app", "main"]

_DEBUG_FLAG = "--debug"


class ZtauthGroup(TyperGroup):
    """Turns every ztauth error into one line on stderr and exit 2 (STYLE.md rule 15)."""

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except (click.exceptions.Exit, click.ClickException, click.exceptions.Abort):
            raise
        except ZtauthError as exc:
            typer.echo(f"error: {exc.diagnostics()}", err=True)
            raise typer.Exit(2) from None
        except Exception as exc:
            # Anything else is a bug. Tracebacks may hold tokens or keys: only with --debug.
            if (ctx.obj or {}).get("debug"):
                traceback.print_exc()
            typer.echo(
                f"internal error: {type(exc).__name__}: {exc} (rerun with --debug for details)",
                err=True,
            )
            raise typer.Exit(2) from None


app = typer.Typer(
    cls=ZtauthGroup,
    name="ztauth",
    help="Lint, sign, version, diff and evaluate ZTAuth* policy ledgers, offline.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    rich_markup_mode="rich",
    context_settings={"help_option_names": ["-h", "--help"]},
)


def _version(value: bool) -> None:
    if value:
        typer.echo(f"ztauth {__version__}")
        raise typer.Exit(0)


@app.callback()
def root(
    ctx: typer.Context,
    version: bool = typer.Option(
        False,
        "--version",
        "-V",
        help="Print the version and exit.",
        is_eager=True,
        callback=_version,
    ),
    debug: bool = typer.Option(False, _DEBUG_FLAG, help="Show tracebacks of internal errors."),
) -> None:
    """ztauth: ZTAuth* policy ledgers as code."""
    ctx.obj = {"debug": debug}


app.add_typer(policy.app, name="policy")
app.command("eval")(eval_cmd.eval_command)
app.command("test")(test_cmd.test_command)
app.add_typer(audit.app, name="audit")
app.add_typer(token.app, name="token")
app.add_typer(keys.app, name="keys")
# Imported for their side effect: they register their commands on the policy group.
_COMMAND_MODULES = (policy_lifecycle, policy_diff)


def main(argv: list[str] | None = None) -> int:
    """Run the CLI; returns the exit code (used by ``python -m ztauth_cli`` and tests)."""
    try:
        app(args=argv if argv is not None else sys.argv[1:], prog_name="ztauth")
    except SystemExit as exc:
        code = exc.code
        return code if isinstance(code, int) else (0 if code is None else 2)
    return 0
