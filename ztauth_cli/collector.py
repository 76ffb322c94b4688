"""Pausing Python's cyclic garbage collector over bounded, allocation-heavy work.

Loading a ledger and running its test suites allocate hundreds of thousands of objects that
all live on (documents and their positions, thousands of cases, their decisions) and next to
no reference cycles. The collector runs a full collection whenever enough of them have
accumulated, each walking everything allocated so far to free almost nothing: on 5,000 cases,
ten full collections were a third of the load. Work whose size is bounded by its input pauses
the collector; whatever cycle it leaves behind is collected once the collector resumes.
An unbounded stream (``eval`` on a ``.jsonl`` input, ``serve``) never pauses it.

Leaf module: the standard library only.
"""

from __future__ import annotations

import contextlib
import gc
from collections.abc import Iterator

__all__ = ["collector_paused"]


@contextlib.contextmanager
def collector_paused() -> Iterator[None]:
    """Disable the cyclic garbage collector for the block, when it is enabled; re-enable it
    after. Nested, or with the collector already disabled by someone else, it changes nothing.
    """
    if not gc.isenabled():
        yield
        return
    gc.disable()
    try:
        yield
    finally:
        gc.enable()
