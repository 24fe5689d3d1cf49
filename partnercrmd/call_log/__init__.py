"""Calls reported by the phone client, automatic pop, and the activity outbox that logs each call exactly once.

See docs/call-events.md. `calls.call_logging` is the daemon's cleanup context;
`call_event_route.call_event` serves `POST CallEvent`; `history_page` is the call
history window.
"""
