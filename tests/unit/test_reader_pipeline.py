"""The reader reads sync lists while the namespace pages still arrive, and fails as it did before.

A stand-in client (the reader's only dependency) makes each case exact: page 2 is only sent
once a sync list of page 1 has been read, which deadlocks unless the reads overlap; and a
failure anywhere ends the read with that error itself, not an ExceptionGroup, and leaves no
read running behind it.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest

from hossctl.errors import HossApiError, MalformedAnswerError
from hossctl.live import reader
from hossctl.live.reader import _read_server
from hossctl.plan.snapshot import LiveNamespace, LiveSyncTarget, ServerState


def _failed(message: str, status: int, error: str | None = None) -> HossApiError:
    return HossApiError(message, server="s", status=status, error=error, method="GET", path="/")


def _ns(name: str) -> LiveNamespace:
    return LiveNamespace(name=name, description="d", object_store="default", bucket=f"b-{name}")


class StandIn:
    """Pages of namespaces; a sync list per name; optional failures; a log of what was read."""

    core_url = "http://127.0.0.1:9/core/v1"

    def __init__(
        self, pages: list[list[str]], *, fail_page: int | None = None, fail_sync: str = "", page_s: float = 0
    ) -> None:
        self.pages = pages
        self.page_s = page_s
        self.fail_page = fail_page
        self.fail_sync = fail_sync
        self.synced: list[str] = []
        self.read_one = asyncio.Event()
        self.open_reads = 0
        self.finished = False  # has the last page been handed over?
        self.read_while_listing: list[str] = []

    reads_sync_configuration = False  # no service secret: one sync read per namespace

    async def server_version(self) -> str:
        return "0.2.13"

    async def object_stores(self) -> tuple[str, ...]:
        return ("default",)

    async def namespace_pages(self) -> AsyncIterator[tuple[LiveNamespace, ...]]:
        for index, page in enumerate(self.pages):
            if index > 0:  # the next page only once the reads of the first have begun
                await asyncio.wait_for(self.read_one.wait(), 2.0)
                await asyncio.sleep(self.page_s)
            if index == self.fail_page:
                raise MalformedAnswerError(
                    "garbled page", server="s", status=200, method="GET", path="/", problem="garbled"
                )
            yield tuple(_ns(name) for name in page)
        self.finished = True

    async def sync_targets(self, name: str) -> tuple[LiveSyncTarget, ...]:
        if not self.finished:
            self.read_while_listing.append(name)
        self.open_reads += 1
        try:
            await asyncio.sleep(0.001)
            if name == self.fail_sync:
                raise _failed("boom", 500)
            if name == "gone":
                raise _failed("gone", 404, "Resource not found")
            self.synced.append(name)
            self.read_one.set()
            return (LiveSyncTarget("https://t.example/core/v1", name, "simplex"),)
        finally:
            self.open_reads -= 1


def _read(client: StandIn, parallelism: int = 4) -> ServerState:
    return asyncio.run(_read_server(client, "s", parallelism))  # type: ignore[arg-type]


def test_sync_lists_are_read_while_later_pages_are_on_their_way() -> None:
    client = StandIn([["a", "b", "c"], ["d", "c", "e/f", "gone"], ["g"]])
    state = _read(client)
    # Every name once (c moved to page 2 while paging), in listing order; the unroutable one kept
    # without sync, the one deleted after the listing left out.
    assert list(state.namespaces) == ["a", "b", "c", "d", "e/f", "g"]
    assert sorted(client.synced) == ["a", "b", "c", "d", "g"]
    assert state.namespaces["e/f"].sync == ()
    assert state.namespaces["a"].sync[0].target_namespace == "a"


@pytest.mark.parametrize("parallelism", [1, 2, 16])
def test_any_parallelism_reads_everything(parallelism: int) -> None:
    names = [f"n{i}" for i in range(40)]
    client = StandIn([names[:15], names[15:30], names[30:]])
    assert list(_read(client, parallelism).namespaces) == names


def test_a_failed_sync_read_ends_the_read_with_its_own_error() -> None:
    client = StandIn([["a", "b", "c"], ["d"]], fail_sync="b")
    with pytest.raises(HossApiError, match="boom"):
        _read(client)
    assert client.open_reads == 0


def test_a_failed_page_ends_the_read_and_the_reads_of_earlier_pages() -> None:
    client = StandIn([[f"n{i}" for i in range(30)], ["x"]], fail_page=1)
    with pytest.raises(MalformedAnswerError, match="garbled page"):
        _read(client, parallelism=2)
    assert client.open_reads == 0 and len(client.synced) < 30


def test_past_the_read_ahead_the_reads_wait_for_the_end_of_the_list(monkeypatch: pytest.MonkeyPatch) -> None:
    # A listing that never ends (stopped at MAX_LISTED) must cost its pages, not a read per name.
    monkeypatch.setattr(reader, "READ_AHEAD_NAMES", 5)
    pages = [[f"p{page}-{i}" for i in range(5)] for page in range(4)]
    client = StandIn(pages, page_s=0.02)  # time enough for many reads while each page travels
    state = _read(client, parallelism=2)
    assert len(state.namespaces) == 20 and len(client.synced) == 20
    assert client.read_while_listing and all(name.startswith("p0-") for name in client.read_while_listing)
