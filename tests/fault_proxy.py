"""A TCP proxy in front of a real server that can take it down or lose its answers, for fault tests.

The daemon's address book points at the proxy instead of the server. The
proxy runs its own event loop in a thread, so both an in-process daemon and a
real `partnercrmd serve` process can use it:

- `down()`: the port refuses connections and open ones are cut (the CRM is down);
  `up()` listens on the same port again.
- `lose_answers_after(trigger)`: on a connection whose request contains
  `trigger` (e.g. ``b"model.ir.note.create"``) the server's answer is dropped:
  the CRM did the write, the daemon never hears so (a crash or a network cut
  at the worst moment). `lose_answers_after(None)` stops it.
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
import threading
from collections.abc import Coroutine
from typing import Any, TypeVar

T = TypeVar("T")
CHUNK = 65536


class FaultProxy:
    def __init__(self, target_port: int, target_host: str = "127.0.0.1") -> None:
        self.target = (target_host, target_port)
        self.port = 0
        self.trigger: bytes | None = None
        self.lost = 0
        """How many requests matched the trigger (their answers were dropped)."""
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, name="fault-proxy", daemon=True)
        self._server: asyncio.Server | None = None
        self._writers: set[asyncio.StreamWriter] = set()

    def _run(self, coro: Coroutine[Any, Any, T]) -> T:
        return asyncio.run_coroutine_threadsafe(coro, self._loop).result(timeout=10)

    def start(self) -> FaultProxy:
        self._thread.start()
        with socket.socket() as probe:  # a free port, kept for every up()
            probe.bind(("127.0.0.1", 0))
            self.port = probe.getsockname()[1]
        self.up()
        return self

    def up(self) -> None:
        self._run(self._listen())

    async def _listen(self) -> None:
        if self._server is None:
            self._server = await asyncio.start_server(self._serve, "127.0.0.1", self.port, reuse_address=True)

    def down(self) -> None:
        self._run(self._close())

    async def _close(self) -> None:
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()
            self._server = None
        for writer in list(self._writers):
            writer.transport.abort()
        self._writers.clear()

    def lose_answers_after(self, trigger: bytes | None) -> None:
        self.trigger = trigger

    def close(self) -> None:
        with contextlib.suppress(Exception):
            self.down()
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(timeout=5)
        self._loop.close()

    def replace_port(self, text: str, server_port: int) -> str:
        """`text` (a URL) with the server's port swapped for the proxy's."""
        return text.replace(f"127.0.0.1:{server_port}", f"127.0.0.1:{self.port}")

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            up_reader, up_writer = await asyncio.open_connection(*self.target)
        except OSError:
            writer.transport.abort()
            return
        self._writers |= {writer, up_writer}
        losing = asyncio.Event()

        async def client_to_server() -> None:
            while data := await reader.read(CHUNK):
                if self.trigger is not None and self.trigger in data and not losing.is_set():
                    losing.set()
                    self.lost += 1
                up_writer.write(data)
                await up_writer.drain()

        async def server_to_client() -> None:
            while data := await up_reader.read(CHUNK):
                if losing.is_set():
                    continue
                writer.write(data)
                await writer.drain()

        tasks = [asyncio.ensure_future(client_to_server()), asyncio.ensure_future(server_to_client())]
        try:
            await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
        except Exception:  # noqa: BLE001, S110  (a cut connection is what this proxy is for)
            pass
        finally:
            for task in tasks:
                task.cancel()
            for w in (writer, up_writer):
                self._writers.discard(w)
                w.transport.abort()
