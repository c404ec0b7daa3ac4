"""The floor for bench/burst: a bare httpx.AsyncClient loop POSTing pre-signed bodies at a concurrency.

Usage: python bench/_bare_send.py REQUESTS.json URL CONCURRENCY
REQUESTS.json is a list of {"body": str, "headers": [[name, value], ...]} (what connect-hooks sent).
"""

from __future__ import annotations

import asyncio
import json
import sys
from pathlib import Path

import httpx


async def main() -> None:
    requests = json.loads(Path(sys.argv[1]).read_text(encoding="utf-8"))
    url, concurrency = sys.argv[2], int(sys.argv[3])
    gate = asyncio.Semaphore(concurrency)
    delivered = 0

    async def post(client: httpx.AsyncClient, request: dict[str, object]) -> None:
        nonlocal delivered
        async with gate:
            response = await client.post(url, content=request["body"].encode(), headers=request["headers"])  # type: ignore[attr-defined]
            delivered += response.status_code == 200

    async with httpx.AsyncClient(timeout=10) as client:
        await asyncio.gather(*(post(client, r) for r in requests))
    print(delivered)


if __name__ == "__main__":
    asyncio.run(main())
