"""A wrk-like load generator on asyncio streams: keep-alive HTTP/1.1 connections, each sending its next
request as soon as the previous answer is read. A few µs per request on the client side, so the server
under test, not the client, sets the pace."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from dataclasses import dataclass


@dataclass(frozen=True)
class LoadResult:
    requests: int
    seconds: float
    latencies: list[float]

    @property
    def rate(self) -> float:
        return self.requests / self.seconds

    def percentile(self, p: float) -> float:
        ordered = sorted(self.latencies)
        return ordered[min(len(ordered) - 1, int(p / 100 * len(ordered)))]


def post(path: str, body: bytes, headers: dict[str, str]) -> bytes:
    lines = [f"POST {path} HTTP/1.1", "Host: bench", f"Content-Length: {len(body)}"]
    lines += [f"{k}: {v}" for k, v in headers.items()]
    return ("\r\n".join(lines) + "\r\n\r\n").encode() + body


async def read_response(reader: asyncio.StreamReader) -> tuple[int, dict[bytes, bytes], bytes]:
    """One HTTP/1.1 answer with a Content-Length (uvicorn gives every answer one): status, headers
    (lower-case names), body."""
    head = await reader.readuntil(b"\r\n\r\n")
    status = int(head[9:12])
    headers = {}
    for line in head.split(b"\r\n")[1:]:
        name, _, value = line.partition(b":")
        if name:
            headers[name.strip().lower()] = value.strip()
    body = await reader.readexactly(int(headers.get(b"content-length", b"0")))
    return status, headers, body


async def _exchange(reader: asyncio.StreamReader, writer: asyncio.StreamWriter, request: bytes) -> bytes:
    writer.write(request)
    status, _, body = await read_response(reader)
    if status != 200:
        raise RuntimeError(f"HTTP {status}: {body[:200]!r}")
    return body


async def run(
    port: int,
    make_request: Callable[[int], bytes],
    requests: int,
    concurrency: int,
    check: Callable[[bytes], None] | None = None,
) -> LoadResult:
    """Send `requests` requests (the i-th is make_request(i)) over `concurrency` connections."""
    latencies: list[float] = []
    counter = iter(range(requests))

    async def connection() -> None:
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        try:
            for i in counter:
                started = time.perf_counter()
                body = await _exchange(reader, writer, make_request(i))
                latencies.append(time.perf_counter() - started)
                if check is not None:
                    check(body)
        finally:
            writer.close()
            await writer.wait_closed()

    started = time.perf_counter()
    await asyncio.gather(*(connection() for _ in range(concurrency)))
    return LoadResult(len(latencies), time.perf_counter() - started, latencies)


async def wait_until_up(port: int) -> None:
    """Returns once the server accepts connections (call under asyncio.timeout)."""
    while True:
        try:
            _, writer = await asyncio.open_connection("127.0.0.1", port)
        except OSError:
            await asyncio.sleep(0.1)
            continue
        writer.close()
        await writer.wait_closed()
        return
