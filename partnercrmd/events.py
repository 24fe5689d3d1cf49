"""The event hub: every connected client has its own bounded queue, so one slow client never delays another."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

log = logging.getLogger(__name__)

QUEUE_SIZE = 256


@dataclass(eq=False)
class Subscriber:
    """One WebSocket connection's outgoing queue."""

    app_id: str
    queue: asyncio.Queue[dict[str, Any] | None] = field(default_factory=lambda: asyncio.Queue(QUEUE_SIZE))
    overflowed: bool = False


class EventHub:
    def __init__(self) -> None:
        self._subscribers: set[Subscriber] = set()

    def subscribe(self, app_id: str) -> Subscriber:
        subscriber = Subscriber(app_id)
        self._subscribers.add(subscriber)
        return subscriber

    def unsubscribe(self, subscriber: Subscriber) -> None:
        self._subscribers.discard(subscriber)

    @property
    def subscribers(self) -> int:
        return len(self._subscribers)

    def publish(self, event_type: str, payload: Mapping[str, Any], *, app_id: str | None = None) -> int:
        """Queue `{EventType, **payload}` for every client (or every connection of `app_id`); returns how many.

        Never waits: a client whose queue is full is cut off (it reconnects and gets `Initial` again)
        instead of holding up the rest.
        """
        event = {"EventType": event_type, **payload}
        delivered = 0
        for subscriber in list(self._subscribers):
            if app_id is not None and subscriber.app_id != app_id:
                continue
            try:
                subscriber.queue.put_nowait(event)
                delivered += 1
            except asyncio.QueueFull:
                log.warning("event client %s is not reading; disconnecting it", subscriber.app_id)
                subscriber.overflowed = True
                self._subscribers.discard(subscriber)
                self._wake(subscriber)
        return delivered

    @staticmethod
    def _wake(subscriber: Subscriber) -> None:
        """Make the subscriber's sender stop: replace its backlog with the end marker."""
        while not subscriber.queue.empty():
            subscriber.queue.get_nowait()
        subscriber.queue.put_nowait(None)

    def close_all(self) -> None:
        for subscriber in list(self._subscribers):
            self._wake(subscriber)
        self._subscribers.clear()
