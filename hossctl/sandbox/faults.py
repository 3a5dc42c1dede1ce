"""Seeded fault injection: which requests fail, and how.

One ``random.Random(seed)`` drawn under a lock, once per request, makes the outcome a pure
function of the seed and the order requests arrive in; faults alternate between the two kinds
so exactly half of them are each kind.
"""

from __future__ import annotations

import random
import threading
from enum import Enum


class Fault(Enum):
    REJECT = "reject"  # 503 before any effect
    DROP = "drop"  # processed, then the connection is closed with no response


class FaultPlan:
    def __init__(self, rate: float, seed: int) -> None:
        self.rate = rate
        self._rng = random.Random(seed)
        self._lock = threading.Lock()
        self._faults = 0

    def draw(self) -> Fault | None:
        if self.rate <= 0:
            return None
        with self._lock:
            if self._rng.random() >= self.rate:
                return None
            kind = Fault.REJECT if self._faults % 2 == 0 else Fault.DROP
            self._faults += 1
            return kind
