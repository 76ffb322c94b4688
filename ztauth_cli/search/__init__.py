"""Access review over the engine: AuthZEN search, principal search, access snapshots.

Pure core: every function takes an :class:`~ztauth_cli.engine.Evaluator` (or a
:class:`Prober` around one) and an injected clock, and reads or writes nothing. ``ztauth
search`` and (later) ``ztauth serve`` are thin shells over it.
"""

from __future__ import annotations

from ztauth_cli.search.authzen import (
    Candidates,
    Page,
    SearchResult,
    search,
    search_actions,
    search_resources,
    search_subjects,
)
from ztauth_cli.search.principal import (
    ActorGrant,
    PrincipalSearch,
    Prober,
    Requirements,
    search_principals,
)

__all__ = [
    "ActorGrant",
    "Candidates",
    "Page",
    "PrincipalSearch",
    "Prober",
    "Requirements",
    "SearchResult",
    "search",
    "search_actions",
    "search_principals",
    "search_resources",
    "search_subjects",
]
