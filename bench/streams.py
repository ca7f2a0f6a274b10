#!/usr/bin/env python3
"""Holds N streams open through a proxy and reports what they cost it in memory.

Starts a slow SSE upstream (one event per second per stream, never ending) on UPSTREAM_PORT,
measures the resident memory (VmRSS summed over PIDS: nginx's workers, or byok-proxy), opens
N client connections to the proxy at PROXY_PORT (which must forward /openai/ to that upstream),
waits until every stream has delivered its first event and a couple more, measures again, and
prints one line: `NAME idle_kib during_kib per_stream_bytes`. Then closes everything.

With `--idle`, the N connections send nothing (what an open client connection alone costs).

Usage: streams.py NAME PROXY_PORT UPSTREAM_PORT PIDS(comma-separated) N [--idle]
"""
import asyncio
import sys

NAME = sys.argv[1]
PROXY_PORT, UPSTREAM_PORT = int(sys.argv[2]), int(sys.argv[3])
PIDS = [int(p) for p in sys.argv[4].split(",")]
N = int(sys.argv[5])
IDLE = "--idle" in sys.argv[6:]


def rss_kib():
    total = 0
    for pid in PIDS:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    total += int(line.split()[1])
    return total


async def upstream(reader, writer):
    try:
        while (await reader.readline()) not in (b"\r\n", b""):
            pass
        writer.write(b"HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nTransfer-Encoding: chunked\r\n\r\n")
        n = 0
        while True:
            event = f"data: {{\"n\":{n}}}\n\n".encode()
            writer.write(b"%x\r\n%s\r\n" % (len(event), event))
            await writer.drain()
            n += 1
            await asyncio.sleep(1)
    except (ConnectionError, asyncio.CancelledError):
        pass
    finally:
        writer.close()


async def client():
    reader, writer = await asyncio.open_connection("127.0.0.1", PROXY_PORT)
    if IDLE:
        return writer
    writer.write(
        b"GET /openai/v1/stream HTTP/1.1\r\nHost: bench\r\n"
        b"X-BYOK-Key: sk-proj-STREAMSstreamsSTREAMS00\r\n\r\n"
    )
    await writer.drain()
    data = b""
    while b"data:" not in data:
        chunk = await reader.read(4096)
        if not chunk:
            raise RuntimeError("stream closed early: %r" % data[:200])
        data += chunk
    return writer


async def main():
    server = await asyncio.start_server(upstream, "127.0.0.1", UPSTREAM_PORT, backlog=4096)
    before = rss_kib()
    writers = []
    for batch in range(0, N, 100):
        writers += await asyncio.gather(*(client() for _ in range(min(100, N - batch))))
    await asyncio.sleep(2.5)  # let every stream tick a couple of times
    during = rss_kib()
    print(f"{NAME} {before} {during} {(during - before) * 1024 // len(writers)}")
    for w in writers:
        w.close()
    server.close()


asyncio.run(main())
