"""Step 3 of the pipeline: is a workload trusted, and at which trust level?

DESIGN.md "Workload governance": a workload is trusted through the security groups it is a
member of (exact ids or globs, :mod:`ztauth_cli.model.globs`: ``*`` stays within one path
segment, ``**`` crosses segments, case-sensitive, never normalised). ``revoked`` in ANY group
wins over every membership. The workload holds a group's trust level only when it proves that
level's requirements in the request (an attestation token from the level's issuer, about this
workload, no older than ``max_age``); its trust level is the highest-ranked level it proves.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timezone

from ztauth_cli import jose
from ztauth_cli.engine.tokens import VerifiedToken
from ztauth_cli.model.documents import SecurityGroup, TrustLevel
from ztauth_cli.model.globs import matches_any, revoked_by
from ztauth_cli.model.record import record

__all__ = ["TrustModel", "TrustResult", "matches"]


def matches(value: str, patterns: Sequence[str]) -> bool:
    """True when ``value`` equals one of ``patterns`` or matches one as a glob."""
    return matches_any(value, patterns)


@record(frozen=True, slots=True, kw_only=True)
class TrustResult:
    """What the trust model says about one workload."""

    workload: str
    trusted: bool
    detail: str
    level: TrustLevel | None = None
    # Groups whose trust level the workload proved (it may act as a member of these).
    groups: tuple[str, ...] = ()
    # Every group the workload is a member of (proved or not), for coverage.
    member_of: tuple[str, ...] = ()


class TrustModel:
    """The ledger's security groups and trust levels."""

    def __init__(self, groups: Sequence[SecurityGroup], levels: Sequence[TrustLevel]) -> None:
        self.groups = tuple(groups)
        self.levels = {level.name: level for level in levels}

    def rank(self, level: str | None) -> int:
        """The rank of a trust level by name (0 for an unknown or missing level)."""
        found = self.levels.get(level) if level is not None else None
        return found.rank if found is not None else 0

    def _requirement_problem(
        self,
        workload: str,
        level: TrustLevel,
        attestation: VerifiedToken | None,
        now: datetime,
    ) -> str | None:
        required = level.attestation
        if required is None:
            return None
        if attestation is None:
            return f"trust level {level.name!r} needs an attestation token from {required.issuer}"
        if attestation.issuer != required.issuer:
            return (
                f"trust level {level.name!r} needs an attestation from {required.issuer}, "
                f"found one from {attestation.issuer}"
            )
        if attestation.claims.get("sub") != workload:
            return f"the attestation is about {attestation.claims.get('sub')!r}, not {workload!r}"
        iat = attestation.claims.get("iat")
        if not isinstance(iat, (int, float)) or isinstance(iat, bool):
            return "the attestation token has no 'iat' claim, so its age is unknown"
        issued = datetime.fromtimestamp(iat, tz=timezone.utc)
        age = now - issued
        if age > required.max_age + jose.LEEWAY:
            return (
                f"the attestation was issued at {jose.format_time(issued)}, "
                f"{int(age.total_seconds())}s ago; trust level {level.name!r} allows at most "
                f"{int(required.max_age.total_seconds())}s"
            )
        return None

    def assess(
        self, workload: str, *, attestation: VerifiedToken | None, now: datetime
    ) -> TrustResult:
        """Decide whether ``workload`` is trusted, and at which level. Never raises."""
        revoked_in = sorted(g.name for g in self.groups if revoked_by(workload, g.revoked))
        if revoked_in:
            return TrustResult(
                workload=workload,
                trusted=False,
                detail=f"{workload} is revoked in security group {', '.join(revoked_in)}",
                member_of=tuple(revoked_in),
            )
        member = [g for g in self.groups if matches(workload, g.members)]
        if not member:
            return TrustResult(
                workload=workload,
                trusted=False,
                detail=f"{workload} is not a member of any security group",
            )
        proved: list[tuple[SecurityGroup, TrustLevel]] = []
        problems: list[str] = []
        for group in member:
            level = self.levels.get(group.trust_level)
            if level is None:
                problems.append(
                    f"group {group.name!r} names unknown trust level {group.trust_level!r}"
                )
                continue
            problem = self._requirement_problem(workload, level, attestation, now)
            if problem is None:
                proved.append((group, level))
            else:
                problems.append(f"group {group.name!r}: {problem}")
        member_of = tuple(sorted(g.name for g in member))
        if not proved:
            return TrustResult(
                workload=workload,
                trusted=False,
                detail=f"{workload} holds no trust level: {'; '.join(sorted(problems))}",
                member_of=member_of,
            )
        best = max(proved, key=lambda pair: pair[1].rank)[1]
        groups = tuple(sorted(g.name for g, _ in proved))
        return TrustResult(
            workload=workload,
            trusted=True,
            detail=(
                f"{workload} is trusted at level {best.name!r} (rank {best.rank}) "
                f"through group {', '.join(groups)}"
            ),
            level=best,
            groups=groups,
            member_of=member_of,
        )
