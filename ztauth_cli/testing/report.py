"""Moved to :mod:`ztauth_cli.report.test_run` (rendering belongs to the reporter layer).

Kept only while ``ztauth_cli/cli/test_cmd.py`` imports the renderers from here;
``tests/test_architecture.py`` fails once nothing does, so that this module is then deleted.
"""

from __future__ import annotations

from ztauth_cli.report.test_run import render_json, render_text, to_check_report, to_json

__all__ = ["render_json", "render_text", "to_check_report", "to_json"]
