"""One bulk push end to end, in a process of its own so that its peak RSS is the push's alone.

`python -m tests.bench.push_worker` reads {"url", "token", "file", "pushes"} as JSON on stdin, runs
the real app in-process (httpx ASGI transport, a real department token, the GraphQL multipart
request of the smoke test) and prints one JSON line: per push its receipt, seconds and peak RSS growth.
"""

from __future__ import annotations

import asyncio
import contextlib
import sys
import time
from pathlib import Path
from typing import Any

import httpx
import orjson
import psutil
from sqlalchemy.engine import make_url

from hub.db import make_engine, make_sessionmaker
from hub.web.app import create_app
from tests.bench.support import bench_settings

UPLOAD = """
mutation($file: Upload!, $type: String!) {
  pushRecordsFile(file: $file, recordType: $type) {
    __typename
    ... on BulkReceipt { id total created updated unchanged rejected late replayed }
    ... on Problem { code message path }
  }
}
"""


def rss() -> int:
    return int(psutil.Process().memory_info().rss)


def reset_peak() -> None:
    """Start the kernel's peak-RSS mark (VmHWM) afresh from the current RSS (Linux >= 4.0)."""
    with contextlib.suppress(OSError):
        Path("/proc/self/clear_refs").write_text("5")


def peak_rss() -> int:
    """VmHWM, the peak RSS since exec or the last reset_peak. Not ru_maxrss: that one survives exec and
    would report the parent's peak; and no sampling thread: it would take the GIL from the push."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) * 1024
    raise RuntimeError("no VmHWM in /proc/self/status")


async def upload_file(client: httpx.AsyncClient, token: str, path: Path) -> httpx.Response:
    """`pushRecordsFile` of the penalties in `path` (a GraphQL multipart request)."""
    operations = {"query": UPLOAD, "variables": {"file": None, "type": "administrative_penalty"}}
    with path.open("rb") as upload:
        return await client.post(
            "/graphql",
            data={
                "operations": orjson.dumps(operations).decode(),
                "map": orjson.dumps({"0": ["variables.file"]}).decode(),
            },
            files={"0": (path.name, upload, "text/csv")},
            headers={"Authorization": f"Bearer {token}"},
        )


async def push_once(client: httpx.AsyncClient, token: str, path: Path) -> dict[str, Any]:
    response = await upload_file(client, token, path)
    response.raise_for_status()
    receipt: dict[str, Any] = response.json()["data"]["pushRecordsFile"]
    if receipt["__typename"] != "BulkReceipt":
        raise RuntimeError(f"the push was refused: {receipt}")
    return receipt


async def run(config: dict[str, Any]) -> dict[str, Any]:
    settings = bench_settings()
    engine = make_engine(make_url(config["url"]), pool_size=2)
    app = create_app(settings, sessions=make_sessionmaker(engine))
    pushes = []
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://hub.bench", timeout=None
    ) as client:
        # Warm the imports and the policy cache, so that the RSS baseline is the idle app's.
        await client.post("/graphql", json={"query": "{ __typename }"})
        for _ in range(int(config.get("pushes", 1))):
            reset_peak()
            before = rss()
            started = time.perf_counter()
            receipt = await push_once(client, config["token"], Path(config["file"]))
            seconds = time.perf_counter() - started
            pushes.append({"receipt": receipt, "seconds": seconds, "rss_growth": peak_rss() - before})
    await engine.dispose()
    return {"pushes": pushes}


def main() -> None:
    config = orjson.loads(sys.stdin.buffer.read())
    result = asyncio.run(run(config))
    sys.stdout.buffer.write(orjson.dumps(result) + b"\n")


if __name__ == "__main__":
    main()
