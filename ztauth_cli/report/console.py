"""The one place that makes a rich console (STYLE.md rule 25).

Rich degrades to plain text when the stream is not a terminal or ``NO_COLOR`` is set
(https://no-color.org): no colour codes, no wrapping, no highlighting of numbers or paths.
"""

from __future__ import annotations

import os
from typing import TYPE_CHECKING, TextIO

if TYPE_CHECKING:
    from rich.console import Console

__all__ = ["make_console", "plain_output"]


def plain_output(stream: TextIO) -> bool:
    """True when ``stream`` must get plain text: not a terminal, or ``NO_COLOR`` is set."""
    if os.environ.get("NO_COLOR"):
        return True
    isatty = getattr(stream, "isatty", None)
    return not (callable(isatty) and isatty())


def make_console(stream: TextIO) -> Console:
    """A rich console writing to ``stream``, plain when :func:`plain_output` says so."""
    from rich.console import Console

    plain = plain_output(stream)
    return Console(
        file=stream,
        no_color=plain,
        force_terminal=False if plain else None,
        color_system=None if plain else "auto",
        highlight=False,
        soft_wrap=True,
        emoji=False,
    )
