"""The one place that makes a rich console (STYLE.md rule 25).

Rich degrades to plain text when the stream is not a terminal or ``NO_COLOR`` is set
(https://no-color.org): no colour codes, no wrapping, no highlighting of numbers or paths.
``FORCE_COLOR`` (https://force-color.org) asks for colour off a terminal (CI logs), and the
global ``--color auto|always|never`` wins over both.
"""

from __future__ import annotations

import os
from typing import TYPE_CHECKING, TextIO

if TYPE_CHECKING:
    from rich.console import Console

__all__ = ["COLOR_MODES", "color_wanted", "make_console", "plain_output", "set_color_mode"]

COLOR_MODES = ("auto", "always", "never")
# Set once per command line by the root command's --color (the shell's one global setting).
_mode = "auto"


def set_color_mode(mode: str) -> None:
    """``--color``: ``auto`` (terminal, NO_COLOR, FORCE_COLOR decide), ``always``, ``never``.

    Raises:
        ValueError: for any other mode.
    """
    global _mode
    if mode not in COLOR_MODES:
        raise ValueError(f"colour mode {mode!r} is not one of {', '.join(COLOR_MODES)}")
    _mode = mode


def color_wanted(stream: TextIO) -> bool:
    """Whether text written to ``stream`` is coloured: --color, then NO_COLOR, then
    FORCE_COLOR, then whether ``stream`` is a terminal."""
    if _mode != "auto":
        return _mode == "always"
    if os.environ.get("NO_COLOR"):
        return False
    if os.environ.get("FORCE_COLOR"):
        return True
    isatty = getattr(stream, "isatty", None)
    return bool(callable(isatty) and isatty())


def plain_output(stream: TextIO) -> bool:
    """True when ``stream`` must get plain text, without live displays (progress bars): not a
    terminal, ``NO_COLOR`` set, or ``--color never``."""
    if os.environ.get("NO_COLOR") or _mode == "never":
        return True
    isatty = getattr(stream, "isatty", None)
    return not (callable(isatty) and isatty())


def make_console(stream: TextIO) -> Console:
    """A rich console writing to ``stream``: coloured when :func:`color_wanted` says so."""
    from rich.console import Console

    plain = not color_wanted(stream)
    return Console(
        file=stream,
        no_color=plain,
        force_terminal=not plain,
        color_system=None if plain else "auto",
        highlight=False,
        soft_wrap=True,
        emoji=False,
    )
