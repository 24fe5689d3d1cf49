#!/usr/bin/env python3
"""The baseline server of bench/load_bench.py: one bare aiohttp handler, nothing else imported.

    python bench/bare_server.py PORT_FILE ANSWER_BYTES

Listens on 127.0.0.1 (a free port, written to PORT_FILE), access log off; `POST /api/v1/Search` reads the
form and answers a fixed JSON body of about ANSWER_BYTES bytes. Stops on SIGTERM. Kept in its own file so
that its memory is aiohttp's and the interpreter's only (load_bench.py itself imports partnercrmd).
"""

from __future__ import annotations

import asyncio
import json
import signal
import sys
from pathlib import Path

from aiohttp import web


def main(port_file: Path, answer_size: int) -> None:
    body = json.dumps([{"Id": "x", "Records": [{"Text": "x" * max(answer_size - 40, 0)}]}]).encode()

    async def search(request: web.Request) -> web.Response:
        form = await request.post()
        if "query" not in form:
            raise web.HTTPBadRequest
        return web.Response(body=body, content_type="application/json")

    async def serve() -> None:
        app = web.Application()
        app.router.add_post("/api/v1/Search", search)
        runner = web.AppRunner(app, access_log=None)
        await runner.setup()
        site = web.TCPSite(runner, "127.0.0.1", 0)
        await site.start()
        port = runner.addresses[0][1]
        await asyncio.to_thread(port_file.write_text, str(port), encoding="utf-8")
        stop = asyncio.Event()
        asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, stop.set)
        await stop.wait()
        await runner.cleanup()

    asyncio.run(serve())


if __name__ == "__main__":
    main(Path(sys.argv[1]), int(sys.argv[2]))
