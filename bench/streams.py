#!/usr/bin/env python3
"""Holds N streams open through byok-proxy and reports its memory.

Starts a slow SSE upstream (one event per second per stream, never ending) on UPSTREAM_PORT,
opens N client connections to the proxy at PROXY_PORT (which must forward openai to that
upstream), waits until every stream has delivered its first event, then prints the proxy's
resident memory (VmRSS of PID) and closes everything.

Usage: streams.py PROXY_PORT UPSTREAM_PORT PID N
"""
import asyncio
import sys

PROXY_PORT, UPSTREAM_PORT, PID, N = (int(a) for a in sys.argv[1:5])


def rss_kib(pid):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0


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


async def client(ready):
    reader, writer = await asyncio.open_connection("127.0.0.1", PROXY_PORT)
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
    ready.release()
    return writer


async def main():
    server = await asyncio.start_server(upstream, "127.0.0.1", UPSTREAM_PORT, backlog=4096)
    before = rss_kib(PID)
    ready = asyncio.Semaphore(0)
    writers = []
    for batch in range(0, N, 100):
        writers += await asyncio.gather(*(client(ready) for _ in range(min(100, N - batch))))
    await asyncio.sleep(2)  # let every stream tick a couple of times
    during = rss_kib(PID)
    print(f"open streams: {len(writers)}")
    print(f"byok-proxy RSS: {before / 1024:.1f} MiB idle, {during / 1024:.1f} MiB with {len(writers)} open streams (target < 64 MiB)")
    for w in writers:
        w.close()
    server.close()


asyncio.run(main())
