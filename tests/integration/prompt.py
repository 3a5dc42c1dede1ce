"""stdin for apply's prompt that lets the world move while apply waits for 'yes'."""

from __future__ import annotations

import io
from collections.abc import Callable


class AtPrompt(io.BytesIO):
    """stdin that runs ``hook`` when the prompt first reads it: the world changes after the plan."""

    def __init__(self, data: bytes, hook: Callable[[], None]) -> None:
        super().__init__(data)
        self._hook: Callable[[], None] | None = hook

    def _fire(self, size: int | None) -> None:
        if size != 0 and self._hook is not None:
            hook, self._hook = self._hook, None
            hook()

    def read(self, size: int | None = -1) -> bytes:
        self._fire(size)
        return super().read(size)

    def read1(self, size: int | None = -1) -> bytes:
        self._fire(size)
        return super().read1(size)

    def readline(self, size: int | None = -1) -> bytes:
        self._fire(size)
        return super().readline(size)
