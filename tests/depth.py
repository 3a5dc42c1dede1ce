"""How deep the slow tests go: quick on every push, full nightly or on demand.

``HOSSCTL_TESTS=full`` runs every Hypothesis test with its full number of examples and the
fault-convergence tests with every seed; without it (CI on every push, a laptop) they run a
tenth of the examples and one seed, so that the whole suite stays under 45 s. Both depths run
every test function; only the number of generated cases differs.
"""

from __future__ import annotations

import os

FULL = os.environ.get("HOSSCTL_TESTS", "").strip().lower() == "full"
DEFAULT_EXAMPLES = 200 if FULL else 20  # for the Hypothesis tests that set no count of their own


def examples(full: int) -> int:
    """A Hypothesis test's example count: ``full`` in a full run, a tenth (at least 10) otherwise."""
    return full if FULL else max(10, full // 10)


def seeds(full: int) -> range:
    """Seeds 1..``full`` in a full run, seed 1 otherwise."""
    return range(1, (full if FULL else 1) + 1)
