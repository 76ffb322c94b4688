"""The one error hierarchy of ztauth.

Every expected failure is a :class:`ZtauthError`; the root CLI group (``cli/main.py``) is the
only place that turns it into text on stderr and exit code 2. Messages name the file, line and
column (``path:line:col: message``) and say what was expected and what was found.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from ztauth_cli.model.span import Span

__all__ = [
    "DocumentError",
    "GitError",
    "LedgerNotFound",
    "RequestError",
    "SuiteError",
    "UsageError",
    "ZtauthError",
]


class ZtauthError(Exception):
    """Base of every error ztauth reports to a user (exit code 2)."""

    def __init__(self, message: str, *, span: Span | None = None, hint: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.span = span
        self.hint = hint

    def diagnostics(self) -> str:
        """The user-facing text: ``path:line:col: message`` and an optional ``hint:`` line."""
        where = f"{self.span}: " if self.span is not None else ""
        text = f"{where}{self.message}"
        if self.hint:
            text += f"\nhint: {self.hint}"
        return text

    def __str__(self) -> str:
        return self.diagnostics()


class UsageError(ZtauthError):
    """Bad command-line arguments or a combination of options that cannot work."""


class LedgerNotFound(ZtauthError):
    """No ``ztauth.yaml`` in the given folder or any folder above it."""


class DocumentError(ZtauthError):
    """A ledger file is unreadable, malformed, or breaks a rule of its format."""


class RequestError(ZtauthError):
    """A request context given to ``eval`` is unreadable or malformed."""


class SuiteError(ZtauthError):
    """A test suite given to ``test`` is unreadable or malformed."""


class GitError(ZtauthError):
    """A Git repository, revision or tag cannot be read or written."""
