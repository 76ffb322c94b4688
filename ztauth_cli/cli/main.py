"""The root command group: global options, sub-command registration, the one error handler."""

from __future__ import annotations

import errno
import functools
import re
import sys
from collections.abc import Callable, Iterator, MutableMapping
from typing import Any, NoReturn

import click
import typer
from typer.core import TyperGroup

from ztauth_cli import __version__
from ztauth_cli.cli._common import reflow_help
from ztauth_cli.cli.launch import report_failure

__all__ = ["app", "main"]

_DEBUG_FLAG = "--debug"


# ----------------------------------------------------------------------------- sub-commands
# Each sub-command's module is imported when the command is first looked up (to run it, to
# complete it, or to list it in a help screen), never at start-up: `ztauth eval` pays for
# eval's imports alone, `ztauth --version` for none.


def _policy() -> typer.Typer:
    from ztauth_cli.cli import policy
    from ztauth_cli.cli import policy_diff as _diff  # noqa: F401 - registers on policy.app
    from ztauth_cli.cli import policy_graph as _graph  # noqa: F401 - registers on policy.app
    from ztauth_cli.cli import policy_lifecycle as _lifecycle  # noqa: F401 - registers on it

    return policy.app


def _eval() -> Callable[..., None]:
    from ztauth_cli.cli.eval_options import eval_command

    return eval_command


def _search() -> typer.Typer:
    from ztauth_cli.cli.search import app as search_app

    return search_app


def _test() -> Callable[..., None]:
    from ztauth_cli.cli.test_cmd import test_command

    return test_command


def _serve() -> Callable[..., None]:
    from ztauth_cli.cli.serve import serve_command

    return serve_command


def _token() -> typer.Typer:
    from ztauth_cli.cli.token import app as token_app

    return token_app


def _keys() -> typer.Typer:
    from ztauth_cli.cli.keys import app as keys_app

    return keys_app


def _audit() -> typer.Typer:
    from ztauth_cli.cli.audit import app as audit_app

    return audit_app


# The front door lists commands in the order a newcomer uses them, not alphabetically.
_COMMANDS: dict[str, Callable[[], typer.Typer | Callable[..., None]]] = {
    "policy": _policy,
    "eval": _eval,
    "search": _search,
    "test": _test,
    "serve": _serve,
    "token": _token,
    "keys": _keys,
    "audit": _audit,
}
_COMMAND_ORDER = tuple(_COMMANDS)


def _no_options() -> None:
    """The holder of one sub-command (never run: it only makes Typer build a group)."""


@functools.cache
def _branch(name: str) -> typer.Typer:
    """A Typer app holding the one sub-command ``name`` (its module imported now), with the
    root's settings and every help text reflowed (once: reflowing twice would not be safe)."""
    target = _COMMANDS[name]()
    holder = typer.Typer(
        rich_markup_mode="rich", pretty_exceptions_enable=False, add_completion=False
    )
    holder.callback()(_no_options)
    if isinstance(target, typer.Typer):
        holder.add_typer(target, name=name)
    else:
        holder.command(name)(target)
    _reflow(holder)
    return holder


class _LazyCommands(MutableMapping[str, click.Command]):
    """The root group's sub-commands by name; each is built (and kept) on first lookup."""

    def __init__(self, built: MutableMapping[str, click.Command]) -> None:
        self._built = dict(built)

    def __getitem__(self, name: str) -> click.Command:
        command = self._built.get(name)
        if command is None:
            if name not in _COMMANDS:
                raise KeyError(name)
            group = typer.main.get_command(_branch(name))
            assert isinstance(group, click.Group)  # noqa: S101 - _branch always makes one
            command = self._built[name] = group.commands[name]
        return command

    def __setitem__(self, name: str, command: click.Command) -> None:
        self._built[name] = command

    def __delitem__(self, name: str) -> None:
        del self._built[name]

    def __contains__(self, name: object) -> bool:
        return name in self._built or name in _COMMANDS

    def __iter__(self) -> Iterator[str]:
        return iter(dict.fromkeys([*_COMMANDS, *self._built]))

    def __len__(self) -> int:
        return len(dict.fromkeys([*_COMMANDS, *self._built]))


# Typer's rich help joins the lines of a paragraph: one paragraph per line here.
_EPILOG = "\n\n".join(
    (
        "[bold]Examples[/bold]",
        "[dim]# check a ledger (CI, pre-commit)[/dim]",
        "  ztauth policy lint --ledger sample-ledger",
        "[dim]# evaluate an AuthZEN request and show the decision trace[/dim]",
        "  ztauth eval sample-ledger/requests/alice-reads-q3-report.json"
        " --ledger sample-ledger --explain",
        "[dim]# run the scenario suites with coverage, JUnit for CI[/dim]",
        "  ztauth test sample-ledger --coverage -f junit -o report.xml",
        "Exit codes: 0 success, 1 findings (lint errors, failing tests, failed verification,"
        " --fail-on-deny, --fail-on-widening), 2 usage or input error.",
        "Run 'ztauth COMMAND --help' for a command's options and examples.",
    )
)


class ZtauthGroup(TyperGroup):
    """Turns every ztauth error into one line on stderr and exit 2 (STYLE.md rule 15)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.commands = _LazyCommands(self.commands)

    def list_commands(self, ctx: click.Context) -> list[str]:
        names = list(self.commands)
        rank = {name: index for index, name in enumerate(_COMMAND_ORDER)}
        return sorted(names, key=lambda name: (rank.get(name, len(rank)), name))

    def make_context(
        self,
        info_name: str | None,
        args: list[str],
        parent: click.Context | None = None,
        **extra: Any,
    ) -> click.Context:
        try:
            return super().make_context(info_name, args, parent=parent, **extra)
        except click.UsageError as exc:
            _usage_error(exc)

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except click.UsageError as exc:
            _usage_error(exc)
        except (click.exceptions.Exit, click.ClickException, click.exceptions.Abort):
            raise
        except OSError as exc:
            if exc.errno == errno.EPIPE:
                raise  # `ztauth ... | head`: the reader left; Click exits quietly
            report_failure(exc, debug=bool((ctx.obj or {}).get("debug")))
            raise typer.Exit(2) from None
        except Exception as exc:
            # A ztauth error, an unreadable file, or a bug: one line (cli/launch.py).
            report_failure(exc, debug=bool((ctx.obj or {}).get("debug")))
            raise typer.Exit(2) from None


def _usage_error(exc: click.UsageError) -> NoReturn:
    """A bad command line, in the same one-line shape as every other error (exit 2)."""
    if not exc.format_message():
        # A group run without a command has printed its help (no_args_is_help): nothing to add.
        raise exc
    # Typer and Click both append the "Did you mean" suggestion: keep one.
    message = re.sub(r"( Did you mean [^?]*\?)(?:\1)+", r"\1", exc.format_message())
    typer.echo(f"error: {message}", err=True)
    if exc.ctx is not None:
        typer.echo(f"hint: run '{exc.ctx.command_path} -h' for its options and examples", err=True)
    raise typer.Exit(2)


app = typer.Typer(
    cls=ZtauthGroup,
    name="ztauth",
    help="ztauth: lint, sign, version, diff, test and evaluate ZTAuth* policy ledgers "
    "(Cedar policies and trust documents in Git), offline.",
    epilog=_EPILOG,
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
    color: str = typer.Option(
        "auto",
        "--color",
        metavar="[auto|always|never]",
        help="Colour text output: auto (on a terminal, unless NO_COLOR; FORCE_COLOR forces "
        "it), always, never.",
        click_type=click.Choice(["auto", "always", "never"]),
    ),
) -> None:
    """ztauth: lint, sign, version, diff, test and evaluate ZTAuth* policy ledgers (Cedar
    policies and trust documents in Git), offline.
    """
    from ztauth_cli.report.console import set_color_mode

    set_color_mode(color)
    ctx.obj = {"debug": debug}


def _reflow(group: typer.Typer) -> None:
    """Give every command's help to Typer reflowed (see ``reflow_help``), recursively."""
    import inspect

    info = group.registered_callback
    if info is not None and info.callback is not None and info.help is None:
        doc = inspect.getdoc(info.callback)
        if doc:
            info.help = reflow_help(doc)
    if group.info.help is not None and isinstance(group.info.help, str):
        group.info.help = reflow_help(group.info.help)
    for command in group.registered_commands:
        doc = command.help or (inspect.getdoc(command.callback) if command.callback else None)
        if doc:
            command.help = reflow_help(doc)
    for sub in group.registered_groups:
        if sub.typer_instance is not None:
            _reflow(sub.typer_instance)


_reflow(app)


def main(argv: list[str] | None = None) -> int:
    """Run the CLI; returns the exit code (used by ``python -m ztauth_cli`` and tests)."""
    try:
        app(args=argv if argv is not None else sys.argv[1:], prog_name="ztauth")
    except SystemExit as exc:
        code = exc.code
        return code if isinstance(code, int) else (0 if code is None else 2)
    return 0
