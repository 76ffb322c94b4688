"""Output formats (a light module: Typer evaluates option annotations at start-up)."""

from __future__ import annotations

import enum
from collections.abc import Iterable

from ztauth_cli.errors import UsageError

__all__ = ["CHECK_REPORT_FORMATS", "GraphFormat", "OutputFormat", "require_format"]


@enum.unique
class OutputFormat(str, enum.Enum):
    """Every output format; each value is the string given to ``--format``."""

    TEXT = "text"
    JSON = "json"
    JUNIT = "junit"
    SARIF = "sarif"
    GITHUB = "github"
    MARKDOWN = "markdown"


# Every format ``ztauth_cli.report.render`` writes a ``CheckReport`` in (``policy lint`` offers
# them all); here, in the light module, so the CLI can name them in its option annotations.
CHECK_REPORT_FORMATS: tuple[OutputFormat, ...] = (
    OutputFormat.TEXT,
    OutputFormat.JSON,
    OutputFormat.SARIF,
    OutputFormat.GITHUB,
    OutputFormat.JUNIT,
    OutputFormat.MARKDOWN,
)


def require_format(fmt: OutputFormat, allowed: Iterable[OutputFormat], *, command: str) -> None:
    """Refuse a format that ``command`` does not support.

    Raises:
        UsageError: naming the formats the command accepts (exit 2).
    """
    accepted = tuple(allowed)
    if fmt not in accepted:
        names = ", ".join(sorted(f.value for f in accepted))
        raise UsageError(f"{command} does not support --format {fmt.value}; use one of: {names}")


@enum.unique
class GraphFormat(str, enum.Enum):
    """Formats of ``ztauth policy graph``; each value is the string given to ``--format``."""

    MERMAID = "mermaid"
    DOT = "dot"
    JSON = "json"
