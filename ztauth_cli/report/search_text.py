"""Text reports of ``ztauth search``: aligned tables a reviewer can read (and grep).

Reporters only render (STYLE.md rule 24): the results arrive sorted from the search core.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, TextIO

from ztauth_cli.report.lifecycle_text import aligned_table

if TYPE_CHECKING:
    from ztauth_cli.search import PrincipalSearch, SearchResult

__all__ = ["render_principals", "render_search"]


def _uid(pair: tuple[str, str]) -> str:
    return f'{pair[0]}::"{pair[1]}"'


def render_search(result: SearchResult, out: TextIO) -> None:
    """An AuthZEN search result: one row per permitted entity, then the page line."""
    rows: list[tuple[str, ...]]
    if result.kind == "action":
        rows = [(r["name"],) for r in result.results]
        header: tuple[str, ...] = ("ACTION",)
    else:
        rows = [(r["type"], r["id"]) for r in result.results]
        header = ("TYPE", "ID")
    if rows:
        out.write(aligned_table(header, rows))
    else:
        out.write(f"no {result.kind} is permitted\n")
    page = result.page
    more = f"; page.next_token {page.next_token}" if page.next_token else ""
    out.write(
        f"{page.count} of {page.total} permitted {result.kind}(s) shown "
        f"({result.evaluations} candidate(s) evaluated){more}\n"
    )


def render_principals(result: PrincipalSearch, out: TextIO) -> None:
    """A principal search: one row per actor and grant, with what it must present."""
    if result.direction == "subject":
        query = result.query
        subject = _uid((query["subject"]["type"], query["subject"]["id"]))
        resource = _uid((query["resource"]["type"], query["resource"]["id"]))
        out.write(f"who may {query['action']['name']} {resource} on behalf of {subject}\n\n")
        rows = [
            (
                r.actor,
                r.group or "-",
                r.via,
                str(r.max_depth),
                r.requires.summary(),
            )
            for r in result.results
        ]
        header: tuple[str, ...] = ("ACTOR", "GROUP", "VIA", "DEPTH", "MUST PRESENT")
    else:
        principal = result.query["authorization_model"]["principal"]
        out.write(f"what {principal['id']} may do, and on whose behalf\n\n")
        rows = [
            (_uid(r.subject), r.action, _uid(r.resource), r.via, r.requires.summary())
            for r in result.results
        ]
        header = ("SUBJECT", "ACTION", "RESOURCE", "VIA", "MUST PRESENT")
    if rows:
        out.write(aligned_table(header, rows))
    else:
        out.write("nobody: no grant confirmed\n")
    out.write(
        f"\n{len(result.results)} grant(s) confirmed by {result.evaluations} full evaluation(s)\n"
    )
