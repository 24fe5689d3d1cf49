"""The call log database: one entry per key, claiming, recovery after a crash, retry, pruning."""

from __future__ import annotations

from pathlib import Path

from partnercrmd.call_log.store import CallRecord, CallStore, OutboxEntry, idempotency_key


def entry(key: str, **more: object) -> OutboxEntry:
    fields: dict[str, object] = {
        "key": key,
        "call_id": f"call-{key}",
        "book_id": "local",
        "contact_id": "c1",
        "subject": "s",
        "body": "b",
        "direction": "Inbound",
        "start_utc": "2026-11-25T10:00:00+00:00",
    }
    fields.update(more)
    return OutboxEntry(**fields)  # type: ignore[arg-type]  # test data, checked by the dataclass


def test_the_same_call_and_book_give_the_same_key_and_one_entry(tmp_path: Path) -> None:
    assert idempotency_key("c1", "tryton") == idempotency_key("c1", "tryton")
    assert idempotency_key("c1", "tryton") != idempotency_key("c1", "local")
    assert idempotency_key("", "local") != idempotency_key("", "local")  # no call id: never taken for another
    store = CallStore(tmp_path / "calls.sqlite3")
    key = idempotency_key("c1", "local")
    _, new = store.add(entry(key, subject="first"))
    again, new_again = store.add(entry(key, subject="second"))
    assert new and not new_again and again.subject == "first"
    store.close()


def test_an_entry_is_claimed_once_and_a_crash_leaves_it_to_be_checked(tmp_path: Path) -> None:
    path = tmp_path / "calls.sqlite3"
    store = CallStore(path)
    store.add(entry("aaaaaa01"))
    claimed = store.claim("aaaaaa01")
    assert claimed is not None and claimed.attempts == 0  # attempts made before this one
    assert store.claim("aaaaaa01") is None
    store.close()  # the daemon dies here, between claiming and finishing
    reopened = CallStore(path)
    assert reopened.recover() == 1
    again = reopened.claim("aaaaaa01")
    assert again is not None and again.attempts == 1  # so the worker reads the CRM back before writing
    reopened.finish("aaaaaa01", "done", activity_id="n1")
    assert reopened.counts() == {"done": 1}
    reopened.close()


def test_retry_by_key_prefix_or_all(tmp_path: Path) -> None:
    store = CallStore(tmp_path / "calls.sqlite3")
    for key in ("abc00001", "abc00002", "def00003"):
        store.add(entry(key))
        store.claim(key)
        store.finish(key, "failed", error="down")
    assert store.retry(["abc0000"]) == 2
    assert store.counts() == {"pending": 2, "failed": 1}
    assert store.retry(None) == 3
    store.close()


class Clock:
    """The time the store stamps changes with, moved by the test: pruning is decided by age alone."""

    def __init__(self, now: float) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


def test_pruning_forgets_old_history_but_never_waiting_entries(tmp_path: Path) -> None:
    clock = Clock(1_800_000_000.0)
    store = CallStore(tmp_path / "calls.sqlite3", clock=clock)
    for key, status in (("0ld0d0ne", "done"), ("0ld0fa1l", "failed"), ("0ld0wa1t", "pending")):
        store.add(entry(key))
        if status != "pending":
            store.claim(key)
            store.finish(key, status)
    store.save_call(CallRecord("old-call", "Ended", "Inbound"))
    clock.now += 2 * 86400  # two days later
    store.save_call(CallRecord("new-call", "Ended", "Inbound"))
    store.add(entry("new0d0ne"))
    store.claim("new0d0ne")
    store.finish("new0d0ne", "done")
    clock.now += 86400 - 1  # the new ones are a second short of a day old; the old ones three days less a second
    assert store.prune(keep_days=1) == 2  # the old call and the old done entry
    assert [c.call_id for c in store.recent_calls()] == ["new-call"]
    assert {e.key for e in store.entries()} == {"0ld0fa1l", "0ld0wa1t", "new0d0ne"}
    store.close()


def test_activity_text_keeps_the_reference_and_a_direction_line_whatever_the_template() -> None:
    from datetime import UTC, datetime

    from partnercrmd.call_log.activity_text import render_activity
    from partnercrmd.model import CallDirection, CallInfo

    call = CallInfo(
        CallDirection.OUTBOUND,
        caller_number="201",
        called_number="+44 20 7946 0958",
        called_name="Dana Whitfield",
        start_utc=datetime(2026, 11, 25, 9, 30, tzinfo=UTC),
        duration_seconds=3725,
        notes="Sent the quote",
    )
    subject, body, _ = render_activity(call, "pcrmd-0123456789abcdef01234567")
    assert subject == "Outgoing call: 201 -> +44 20 7946 0958 [Dana Whitfield]"
    assert body.splitlines() == [
        "Direction: Outbound",
        "Caller: 201",
        "Called: +44 20 7946 0958 [Dana Whitfield]",
        "Start: 2026-11-25 09:30:00 UTC",
        "Duration: 1:02:05",
        "Call reference: pcrmd-0123456789abcdef01234567",
        "",
        "Sent the quote",
    ]
    subject, body, _ = render_activity(
        call, "pcrmd-x", subject_template="Rang $called_name", body_template="$notes ($duration)"
    )
    assert subject == "Rang Dana Whitfield"
    assert body == "Direction: Outbound\nCall reference: pcrmd-x\nSent the quote (1:02:05)"  # the marks first
    _, body, _ = render_activity(call, "pcrmd-y", body_template="Spoke $duration")
    assert body == "Spoke 1:02:05\nDirection: Outbound\nCall reference: pcrmd-y\n\nSent the quote"
