"""Traffic for the soak scenarios, over real keep-alive sockets (the HTTP/1.1 reader of tests.bench.load):
closed-loop (each connection sends its next request when the previous answer is in) to find what the
server can do, open-loop (a fixed arrival schedule, whatever the answers) to offer it more than that.

Every answer is kept with its latency, measured from the moment the request was written (a client that falls behind sends in a burst to catch up: the server sees the
burst, and the figure does not count the client's own delay).
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass

import orjson

from tests.bench.load import post, read_response

__all__ = ["Answer", "closed_loop", "get", "open_loop", "percentile", "post", "problem_code"]

Request = Callable[[int], bytes]


@dataclass(frozen=True)
class Answer:
    status: int  # 0: no HTTP answer (the connection failed or closed)
    headers: dict[bytes, bytes]
    body: bytes
    latency: float  # seconds, from the send to the last byte
    done: float  # time.perf_counter() when it ended

    @property
    def is_json(self) -> bool:
        try:
            orjson.loads(self.body)
        except orjson.JSONDecodeError:
            return False
        return self.headers.get(b"content-type", b"").startswith(b"application/")

    @property
    def code(self) -> str | None:
        return problem_code(self.body)


def problem_code(body: bytes) -> str | None:
    """`extensions.code` of the first error of a JSON answer, if it has one."""
    try:
        data = orjson.loads(body)
    except orjson.JSONDecodeError:
        return None
    errors = data.get("errors") if isinstance(data, dict) else None
    first = errors[0] if isinstance(errors, list) and errors and isinstance(errors[0], dict) else {}
    extensions = first.get("extensions")
    code = extensions.get("code") if isinstance(extensions, dict) else None
    return code if isinstance(code, str) else None


def percentile(values: Iterable[float], p: float) -> float:
    ordered = sorted(values)
    if not ordered:
        return float("nan")
    return ordered[min(len(ordered) - 1, int(p / 100 * len(ordered)))]


def get(path: str) -> bytes:
    return f"GET {path} HTTP/1.1\r\nHost: soak\r\n\r\n".encode()


# Seconds an idle connection is kept: uvicorn closes one idle for 5 s (its keep-alive timeout).
KEEP_ALIVE = 3.0


class Connections:
    """Keep-alive connections to one port: an idle one is reused, else a new one is opened."""

    def __init__(self, port: int) -> None:
        self.port = port
        self.idle: list[tuple[asyncio.StreamReader, asyncio.StreamWriter, float]] = []  # and last use
        self.open: set[asyncio.StreamWriter] = set()

    async def exchange(self, request: bytes) -> Answer:
        sent = time.perf_counter()
        while self.idle and sent - self.idle[-1][2] > KEEP_ALIVE:
            self._drop(self.idle.pop()[1])  # the server may have closed it by now
        if self.idle:
            reader, writer, _ = self.idle.pop()
        else:
            try:
                reader, writer = await asyncio.open_connection("127.0.0.1", self.port)
            except OSError as error:
                now = time.perf_counter()
                return Answer(0, {}, repr(error).encode(), now - sent, now)
            self.open.add(writer)
        try:
            sent = time.perf_counter()
            writer.write(request)
            status, headers, body = await read_response(reader)
        except (OSError, asyncio.IncompleteReadError, asyncio.LimitOverrunError, ValueError) as error:
            self._drop(writer)
            now = time.perf_counter()
            return Answer(0, {}, repr(error).encode(), now - sent, now)
        now = time.perf_counter()
        if headers.get(b"connection", b"").lower() == b"close":
            self._drop(writer)
        else:
            self.idle.append((reader, writer, now))
        return Answer(status, headers, body, now - sent, now)

    def _drop(self, writer: asyncio.StreamWriter) -> None:
        self.open.discard(writer)
        writer.close()

    async def close(self) -> None:
        for writer in list(self.open):
            writer.close()
            with contextlib.suppress(OSError):
                await writer.wait_closed()
        self.open.clear()
        self.idle.clear()


async def closed_loop(port: int, make: Request, concurrency: int, seconds: float) -> list[Answer]:
    """`concurrency` clients, each sending its next request as soon as its previous answer is in."""
    connections = Connections(port)
    answers: list[Answer] = []
    end = time.perf_counter() + seconds
    counter = iter(range(1 << 62))

    async def client() -> None:
        while time.perf_counter() < end:
            answers.append(await connections.exchange(make(next(counter))))

    try:
        await asyncio.gather(*(client() for _ in range(concurrency)))
    finally:
        await connections.close()
    return answers


async def open_loop(port: int, make: Request, rate: float, seconds: float) -> list[Answer]:
    """Requests at a fixed rate for `seconds`, each sent when the schedule says, whatever the
    answers to the earlier ones (as many connections as are needed)."""
    connections = Connections(port)
    answers: list[Answer] = []
    start = time.perf_counter()
    tasks = []

    async def one(i: int) -> None:
        answers.append(await connections.exchange(make(i)))

    try:
        for i in range(int(rate * seconds)):
            sent = start + i / rate
            delay = sent - time.perf_counter()
            if delay > 0:
                await asyncio.sleep(delay)
            tasks.append(asyncio.create_task(one(i)))
        await asyncio.gather(*tasks)
    finally:
        await connections.close()
    return answers
