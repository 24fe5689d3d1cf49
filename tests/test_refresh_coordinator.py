"""The refresh policy of add-ins' local indexes (`partnercrmd.sdk.RefreshCoordinator` and its thread driver).

Due times, back-off and status are checked against an injected clock; the replay of writes made during a
refresh and the first-fill wait run real tasks and threads.
"""

from __future__ import annotations

import asyncio
import threading
import time

import pytest

from partnercrmd.sdk import AddinError, RefreshCoordinator, RefreshStatus, ThreadRefreshCoordinator


class Clock:
    """A clock the test moves by hand (epoch seconds)."""

    def __init__(self, now: float = 1_000_000.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


class Store:
    """An index: a fill replaces it with a listing read from the 'backend'; a write changes one key."""

    def __init__(self) -> None:
        self.backend: dict[str, str] = {"dana": "0111"}
        self.index: dict[str, str] = {}

    def replace_all(self, listing: dict[str, str]) -> int:
        self.index = dict(listing)
        return len(listing)

    def save(self, key: str, value: str) -> None:
        """The add-in writes to the backend and records it in the index (the caller replays it via the coordinator)."""
        self.backend[key] = value
        self.index[key] = value


# --- due times, back-off, status (the policy, on an injected clock) ---------------------------------------------


async def test_an_empty_index_is_due_at_once_then_interval_seconds_after_each_success() -> None:
    clock = Clock()
    store = Store()

    async def fill() -> int:
        return store.replace_all(store.backend)

    coordinator = RefreshCoordinator(fill, name="test", interval=60.0, clock=clock, entries=lambda n: n)
    assert coordinator.due() and coordinator.status.state == "empty"
    assert await coordinator.refresh() == 1
    assert not coordinator.due()
    clock.now += 59.9
    assert not coordinator.due() and coordinator.start_if_due() is None
    clock.now += 0.1
    assert coordinator.due()
    assert coordinator.status.next_due == clock.now


async def test_a_book_filled_before_a_restart_is_due_interval_seconds_after_that_fill() -> None:
    clock = Clock()

    async def fill() -> int:
        return 0

    coordinator = RefreshCoordinator(fill, name="test", interval=600.0, last_success=clock.now - 500.0, clock=clock)
    assert coordinator.filled and not coordinator.due()
    assert coordinator.status.next_due == clock.now + 100.0
    clock.now += 100.0
    assert coordinator.due()


async def test_failures_back_off_doubling_up_to_a_cap_and_a_success_resets_it() -> None:
    clock = Clock()
    failing = True

    async def fill() -> int:
        if failing:
            raise AddinError("Cannot reach the server.", code="cannot_connect")
        return 3

    coordinator = RefreshCoordinator(
        fill, name="test", interval=600.0, retry_after=10.0, max_retry_after=25.0, clock=clock, entries=lambda n: n
    )
    waits = []
    for _ in range(4):
        with pytest.raises(AddinError):
            await coordinator.refresh()
        failed_at = clock.now
        assert not coordinator.due()
        waits.append(coordinator.status.next_due - failed_at)  # type: ignore[operator]
        clock.now = coordinator.status.next_due  # type: ignore[assignment]
        assert coordinator.due()
    assert waits == [10.0, 20.0, 25.0, 25.0]
    status = coordinator.status
    assert (status.state, status.failures, status.last_error_code) == ("failed", 4, "cannot_connect")
    assert status.last_error == "Cannot reach the server." and status.last_success is None
    failing = False
    assert await coordinator.refresh() == 3
    status = coordinator.status
    assert (status.state, status.failures, status.last_error, status.entries) == ("ready", 0, "", 3)
    assert status.last_success == clock.now and status.next_due == clock.now + 600.0


async def test_retry_now_makes_a_refresh_due_despite_the_back_off() -> None:
    clock = Clock()

    async def fill() -> int:
        raise AddinError("down", code="cannot_connect")

    coordinator = RefreshCoordinator(fill, name="test", interval=60.0, retry_after=30.0, clock=clock)
    with pytest.raises(AddinError):
        await coordinator.refresh()
    assert not coordinator.due()
    coordinator.retry_now()
    assert coordinator.due() and coordinator.status.next_due == clock.now


async def test_the_status_says_refreshing_while_a_fill_runs_and_as_dict_is_json_ready() -> None:
    clock = Clock(1_767_225_600.0)  # 2026-01-01T00:00:00Z
    release = asyncio.Event()

    async def fill() -> int:
        await release.wait()
        return 7

    coordinator = RefreshCoordinator(fill, name="test", interval=60.0, clock=clock, entries=lambda n: n)
    task = coordinator.start()
    await asyncio.sleep(0)
    assert coordinator.status == RefreshStatus("refreshing", None, "", "", None, None, 0)
    assert coordinator.start() is task and coordinator.start_if_due() is task  # one refresh at a time
    release.set()
    await task
    assert coordinator.status.as_dict() == {
        "state": "ready",
        "last_success": "2026-01-01T00:00:00Z",
        "last_error": "",
        "last_error_code": "",
        "next_due": "2026-01-01T00:01:00Z",
        "entries": 7,
        "failures": 0,
    }


# --- writes made during a refresh ------------------------------------------------------------------------------


async def test_a_write_made_during_a_refresh_survives_the_older_listing() -> None:
    store = Store()
    listed, release = asyncio.Event(), asyncio.Event()

    async def fill() -> int:
        listing = dict(store.backend)  # read from the backend before the write below
        listed.set()
        await release.wait()
        return store.replace_all(listing)

    coordinator = RefreshCoordinator(fill, name="test", interval=60.0)

    async def save(key: str, value: str) -> None:
        async def apply() -> None:
            store.index[key] = value

        store.backend[key] = value
        await coordinator.write(key, apply)

    task = coordinator.start()
    await listed.wait()
    await save("dana", "0222")
    await save("dana", "0333")  # only the latest write per key is replayed, after the earlier ones of others
    await save("eamon", "0444")
    assert store.index == {"dana": "0333", "eamon": "0444"}
    release.set()
    await task
    assert store.index == {"dana": "0333", "eamon": "0444"}
    # Once the refresh ended, writes are not remembered any more: the next listing has them.
    await save("zoe", "0555")
    assert await coordinator.refresh() == 3 and store.index == store.backend


async def test_a_failed_refresh_replays_nothing_and_forgets_its_writes() -> None:
    release = asyncio.Event()
    replayed: list[str] = []

    async def fill() -> int:
        await release.wait()
        raise AddinError("timed out", code="timeout")

    coordinator = RefreshCoordinator(fill, name="test", interval=60.0, retry_after=0.0)
    task = coordinator.start()
    await asyncio.sleep(0)

    async def apply() -> None:
        replayed.append("dana")

    await coordinator.write("dana", apply)
    release.set()
    with pytest.raises(AddinError):
        await task
    assert replayed == ["dana"]  # applied once, when written; not replayed


# --- the first fill --------------------------------------------------------------------------------------------


async def test_a_first_search_waits_first_fill_wait_for_the_first_fill_then_goes_on_without_it() -> None:
    release = asyncio.Event()

    async def slow_fill() -> int:
        await release.wait()
        return 1

    coordinator = RefreshCoordinator(slow_fill, name="test", interval=60.0, first_fill_wait=0.2)
    started = time.monotonic()
    assert await coordinator.ensure_fresh() is False  # not filled yet: the caller asks the backend itself
    assert 0.18 <= time.monotonic() - started < 1.0
    task = coordinator.running()
    assert task is not None  # the fill goes on in the background
    release.set()
    await task
    started = time.monotonic()
    assert await coordinator.ensure_fresh() is True
    assert time.monotonic() - started < 0.1


async def test_a_quick_first_fill_answers_the_first_search() -> None:
    async def fill() -> int:
        await asyncio.sleep(0.01)
        return 1

    coordinator = RefreshCoordinator(fill, name="test", interval=60.0, first_fill_wait=5.0)
    started = time.monotonic()
    assert await coordinator.ensure_fresh() is True
    assert time.monotonic() - started < 1.0


async def test_a_stale_filled_index_answers_at_once_while_it_refreshes() -> None:
    release = asyncio.Event()

    async def fill() -> int:
        await release.wait()
        return 1

    clock = Clock()
    coordinator = RefreshCoordinator(
        fill, name="test", interval=60.0, first_fill_wait=5.0, last_success=clock.now - 61, clock=clock
    )
    started = time.monotonic()
    assert await coordinator.ensure_fresh() is True
    assert time.monotonic() - started < 1.0 and coordinator.status.state == "refreshing"
    release.set()
    await coordinator.close()


async def test_close_cancels_a_running_refresh() -> None:
    async def fill() -> int:
        await asyncio.Event().wait()
        return 0

    coordinator = RefreshCoordinator(fill, name="test", interval=60.0)
    task = coordinator.start()
    await asyncio.sleep(0)
    await coordinator.close()
    assert task.cancelled() and coordinator.status.state == "empty"


# --- the thread driver -----------------------------------------------------------------------------------------


def test_the_thread_driver_replays_writes_made_during_a_fill() -> None:
    store = Store()
    listed, release = threading.Event(), threading.Event()

    def fill(stopping: object) -> int:
        listing = dict(store.backend)
        listed.set()
        release.wait(5)
        return store.replace_all(listing)

    coordinator = ThreadRefreshCoordinator(fill, name="test", interval=60.0, entries=lambda n: n)
    coordinator.start()
    assert listed.wait(5)
    store.backend["dana"] = "0222"
    coordinator.write("dana", lambda: store.index.__setitem__("dana", "0222"))
    assert coordinator.status.state == "refreshing"
    release.set()
    assert coordinator.wait(5)
    assert store.index == {"dana": "0222"}
    assert (coordinator.status.state, coordinator.status.entries) == ("ready", 1)


def test_the_thread_driver_backs_off_and_refresh_raises_the_failure() -> None:
    clock = Clock()
    calls: list[str] = []

    def broken(stopping: object) -> int:
        calls.append("broken")
        raise AddinError("The LDAP server did not answer in time.", code="timeout")

    coordinator = ThreadRefreshCoordinator(broken, name="test", interval=0.0, retry_after=60.0, clock=clock)
    with pytest.raises(AddinError) as raised:
        coordinator.refresh()
    assert raised.value.code == "timeout" and coordinator.status.last_error_code == "timeout"
    assert coordinator.start_if_due() is False  # backing off
    clock.now += 60.0
    assert coordinator.start_if_due() is True
    assert coordinator.wait(5) and calls == ["broken", "broken"]
    assert coordinator.status.failures == 2


def test_the_thread_driver_waits_first_fill_wait_and_stops_its_fill_on_close() -> None:
    pages: list[int] = []

    def endless(stopping: object) -> int:
        assert callable(stopping)
        while not stopping():
            pages.append(1)
            time.sleep(0.01)
        return len(pages)

    coordinator = ThreadRefreshCoordinator(endless, name="test", interval=60.0, first_fill_wait=0.2)
    started = time.monotonic()
    assert coordinator.ensure_fresh() is False
    assert 0.18 <= time.monotonic() - started < 1.5
    assert coordinator.is_running()
    coordinator.close(5)
    assert not coordinator.is_running()
    assert coordinator.status.state == "empty"  # a stopped fill is neither a success nor a failure
    assert coordinator.start_if_due() is False  # closed: no new fill
    with pytest.raises(AddinError, match="closing"):
        coordinator.refresh()


async def test_a_failure_is_logged_once_per_run_and_a_foreign_exception_by_its_type_only(
    caplog: pytest.LogCaptureFixture,
) -> None:
    clock = Clock()

    async def fill() -> int:
        raise OSError("connect to https://alice:s3cret@dav.example failed")

    coordinator = RefreshCoordinator(fill, name="Refreshing the test index", interval=60.0, clock=clock)
    with caplog.at_level("INFO", logger="partnercrmd.refresh_coordinator"):
        for _ in range(2):
            with pytest.raises(OSError):
                await coordinator.refresh()
            clock.now += 3600.0
    warnings = [r.getMessage() for r in caplog.records if r.levelname == "WARNING"]
    assert warnings == ["Refreshing the test index failed (retried later): OSError"]
    assert "s3cret" not in caplog.text
    assert coordinator.status.last_error_code == "unknown" and coordinator.status.failures == 2
