"""One reporter layer for every command (STYLE.md rules 23-25).

``render(report, fmt, out)`` maps an :class:`OutputFormat` to its module's ``render`` and ends
in ``assert_never``; each format module imports its libraries (rich) only when used.
"""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING, TextIO

from ztauth_cli.report.formats import OutputFormat, require_format

if TYPE_CHECKING:
    from ztauth_cli.model.findings import CheckReport

if sys.version_info >= (3, 11):
    from typing import assert_never
else:  # pragma: no cover - Python 3.10
    from typing_extensions import assert_never

__all__ = ["OutputFormat", "render", "require_format"]


def render(report: CheckReport, fmt: OutputFormat, out: TextIO) -> None:
    """Render ``report`` in ``fmt`` to ``out``."""
    if fmt is OutputFormat.TEXT:
        from ztauth_cli.report import text

        text.render(report, out)
    elif fmt is OutputFormat.JSON:
        from ztauth_cli.report import json_report

        json_report.render(report, out)
    elif fmt is OutputFormat.JUNIT:
        from ztauth_cli.report import junit

        junit.render(report, out)
    elif fmt is OutputFormat.SARIF:
        from ztauth_cli.report import sarif

        sarif.render(report, out)
    elif fmt is OutputFormat.GITHUB:
        from ztauth_cli.report import github

        github.render(report, out)
    elif fmt is OutputFormat.MARKDOWN:
        from ztauth_cli.report import markdown

        markdown.render(report, out)
    else:
        assert_never(fmt)
