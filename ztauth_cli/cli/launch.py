"""The ``ztauth`` entry point: a plain ``ztauth eval`` runs without Typer, the rest through it.

A one-off decision is mostly start-up, and importing Typer and Click alone costs about as much
as a whole raw Cedar process (about 80 ms on a 2-core machine). So the command line of a plain
``ztauth eval`` is read here, by a deliberately narrow reader: the root's ``--debug`` and
``--color``, then ``eval`` with its own options (``--name value``, ``--name=value``, ``-f`` and
``-o`` with a separate value, flags) and at most one REQUEST_FILE. Anything else (help, a
mistake, an option or form this reader does not know, an option given twice, a value that looks
like an option, shell completion) is handed unchanged to the Typer app (``cli/main.py``), which
answers exactly as it always has. ``tests/cli/test_launch.py`` runs command lines through both
and compares what a user sees: output, messages and exit codes.
"""

from __future__ import annotations

import errno
import os
import sys
import traceback
from collections.abc import Callable
from pathlib import Path
from typing import Any

from ztauth_cli.cli._shared import echo_err
from ztauth_cli.errors import ZtauthError

__all__ = ["eval_command_line", "main", "report_failure"]

# eval's options: the keyword of ``eval_main`` each sets, and how its value is read.
_FLAG, _TEXT, _PATH, _COUNT, _FORMAT = "flag", "text", "path", "count", "format"
_EVAL_OPTIONS: dict[str, tuple[str, str]] = {
    "--ledger": ("ledger", _PATH),
    "--rev": ("rev", _TEXT),
    "--at": ("at", _TEXT),
    "--format": ("fmt", _FORMAT),
    "-f": ("fmt", _FORMAT),
    "--explain": ("explain", _FLAG),
    "--fail-on-deny": ("fail_on_deny", _FLAG),
    "--audit-log": ("audit_log", _PATH),
    "--jwks": ("jwks", _PATH),
    "--jsonl": ("jsonl", _FLAG),
    "--output": ("output", _PATH),
    "-o": ("output", _PATH),
    "--signers-jwks": ("signers_jwks", _PATH),
    "--require-signatures": ("require_signatures", _COUNT),
    "--subject": ("subject", _TEXT),
    "--action": ("action", _TEXT),
    "--resource": ("resource", _TEXT),
    "--principal": ("principal", _TEXT),
}
_COLOR_MODES = ("auto", "always", "never")
# Set by a shell asking Click for completions: that is Click's business, never a decision.
_COMPLETION_ENV = "_ZTAUTH_COMPLETE"


class EvalCommandLine:
    """A plain ``ztauth eval`` command line, read: ``eval_main``'s keywords and the root's."""

    __slots__ = ("color", "debug", "params")

    def __init__(self, params: dict[str, Any], *, debug: bool, color: str) -> None:
        self.params = params
        self.debug = debug
        self.color = color


def eval_command_line(argv: list[str]) -> EvalCommandLine | None:
    """``argv`` read as a plain ``ztauth eval``, or None for Typer to read (see module doc)."""
    if _COMPLETION_ENV in os.environ:
        return None
    debug, color, color_given = False, "auto", False
    index = 0
    while index < len(argv) and argv[index] != "eval":
        word = argv[index]
        index += 1
        if word == "--debug" and not debug:
            debug = True
            continue
        if word.startswith("--color=") and not color_given:
            value = word.partition("=")[2]
        elif word == "--color" and not color_given and index < len(argv):
            value = argv[index]
            index += 1
        else:
            return None
        if value not in _COLOR_MODES:
            return None
        color, color_given = value, True
    if index == len(argv):
        return None
    params = _eval_params(argv[index + 1 :])
    return None if params is None else EvalCommandLine(params, debug=debug, color=color)


def _eval_params(args: list[str]) -> dict[str, Any] | None:
    from ztauth_cli.cli.eval_cmd import STDIN

    params: dict[str, Any] = {
        name: False if kind == _FLAG else None for name, kind in _EVAL_OPTIONS.values()
    }
    given: set[str] = set()
    request_file: str | None = None
    index = 0
    while index < len(args):
        word = args[index]
        index += 1
        if not word.startswith("-") or word == STDIN:
            if request_file is not None:
                return None
            request_file = word
            continue
        option, has_value, value = word.partition("=")
        if not option.startswith("--"):
            has_value, option = "", word  # a short option takes its value separately
        known = _EVAL_OPTIONS.get(option)
        if known is None:
            return None
        name, kind = known
        if name in given:
            return None
        given.add(name)
        if kind == _FLAG:
            if has_value:
                return None
            params[name] = True
            continue
        if not has_value:
            if index == len(args):
                return None
            value = args[index]
            index += 1
        read = _read_value(kind, value)
        if read is None:
            return None
        params[name] = read
    params["request_file"] = request_file if request_file is not None else STDIN
    return params


def _read_value(kind: str, value: str) -> Any:
    """The value as Typer would hand it over, or None when only Typer may judge it."""
    if not value or value.startswith("-"):
        return None
    if kind == _PATH:
        return Path(value)
    if kind == _COUNT:
        return int(value) if value.isascii() and value.isdigit() else None
    if kind == _FORMAT:
        from ztauth_cli.report.formats import OutputFormat

        try:
            return OutputFormat(value)
        except ValueError:
            return None
    return value


def report_failure(exc: Exception, *, debug: bool) -> None:
    """Say why a command failed, in one line on stderr (STYLE.md rule 15); exit code 2.

    ``exc`` is a ztauth error (its diagnostics), an unreadable or unwritable file (its name
    and why), or a bug (its type and message; the traceback only with ``--debug``, as a
    traceback may hold tokens or keys).
    """
    if isinstance(exc, ZtauthError):
        echo_err(f"error: {exc.diagnostics()}")
    elif isinstance(exc, OSError):
        where = f"{exc.filename}: " if exc.filename else ""
        echo_err(f"error: {where}{exc.strerror or exc}")
    else:
        if debug:
            traceback.print_exc()
        echo_err(f"internal error: {type(exc).__name__}: {exc} (rerun with --debug for details)")


def _run(command: Callable[[], int], *, debug: bool) -> int:
    """Run ``command`` as the Typer app runs one: every failure one line and exit 2, a reader
    gone (``| head``) quiet with exit 1, Ctrl-C "Aborted!" with exit 1."""
    try:
        return command()
    except (EOFError, KeyboardInterrupt):
        echo_err("\nAborted!")
        return 1
    except OSError as exc:
        if exc.errno == errno.EPIPE:
            # The reader left: later flushes (at exit too) must not complain.
            devnull = os.open(os.devnull, os.O_WRONLY)
            os.dup2(devnull, sys.stdout.fileno())
            return 1
        report_failure(exc, debug=debug)
        return 2
    except Exception as exc:
        report_failure(exc, debug=debug)
        return 2


def main(argv: list[str] | None = None) -> int:
    """Run ``ztauth``; returns the exit code (the console script and ``python -m ztauth_cli``)."""
    args = list(sys.argv[1:] if argv is None else argv)
    line = eval_command_line(args)
    if line is None:
        from ztauth_cli.cli.main import main as typer_main

        return typer_main(args)
    from ztauth_cli.cli.eval_cmd import eval_main
    from ztauth_cli.report.console import set_color_mode

    set_color_mode(line.color)
    return _run(lambda: eval_main(**line.params), debug=line.debug)
