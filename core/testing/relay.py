"""A TCP relay: `python relay.py [--parent=PID] LISTEN_ADDR:PORT=TARGET_ADDR:PORT …`.

Lets worker hosts in network namespaces (core/testing/hosts.py) reach services that listen on
127.0.0.1 only, without those services listening anywhere else: it listens only on the given
private addresses (never 0.0.0.0). Each connection is copied both ways until either side
closes; it runs until killed, or until the process `--parent` names is gone (a test run that
was killed itself leaves no relay behind).
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import sys
from collections.abc import Awaitable, Callable

Handler = Callable[[asyncio.StreamReader, asyncio.StreamWriter], Awaitable[None]]


async def _pipe(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    try:
        while data := await reader.read(65536):
            writer.write(data)
            await writer.drain()
    except (ConnectionError, OSError):
        pass
    finally:
        with contextlib.suppress(Exception):
            writer.close()


def _handler(target_host: str, target_port: int) -> Handler:
    async def handle(client_r: asyncio.StreamReader, client_w: asyncio.StreamWriter) -> None:
        try:
            server_r, server_w = await asyncio.open_connection(target_host, target_port)
        except OSError:
            client_w.close()
            return
        await asyncio.gather(_pipe(client_r, server_w), _pipe(server_r, client_w))

    return handle


def _address(text: str) -> tuple[str, int]:
    host, _, port = text.rpartition(":")
    return host, int(port)


async def _watch(parent: int) -> None:
    while True:
        try:
            os.kill(parent, 0)
        except ProcessLookupError:
            os._exit(0)
        await asyncio.sleep(1)


async def main(routes: list[str]) -> None:
    parent = None
    if routes and routes[0].startswith("--parent="):
        parent = int(routes.pop(0).partition("=")[2])
    servers: list[asyncio.Server] = []
    for route in routes:
        listen, _, target = route.partition("=")
        host, port = _address(listen)
        if host in {"", "0.0.0.0", "::"}:  # noqa: S104 - refused, not used
            raise SystemExit(f"refusing to listen on every address: {route}")
        servers.append(await asyncio.start_server(_handler(*_address(target)), host, port))
    print(f"relaying {len(routes)} routes", flush=True)
    watch = [_watch(parent)] if parent is not None else []
    await asyncio.gather(*(server.serve_forever() for server in servers), *watch)


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1:]))
