#!/usr/bin/env python3
"""Attacks on the gate for `make loadtest`, on loopback only, bounded in count and time.

  attack.py hold  --port P --mode slow|idle --connections N --seconds S
      Keeps N connections open for S seconds, reopening any the gate closes: `slow` sends a
      request head one header line every 2 s and never finishes it (slowloris); `idle` sends
      one whole request, reads the reply, then stays silent (an idle keep-alive connection).
      Prints how many connections it opened and how many the gate closed.
  attack.py probe --port P --path PATH --requests N --interval S [--bind ADDR]
      A real client: N GETs, one every S seconds, each on a new connection (the worst case
      for it), from ADDR. Prints p50, p99, max and failures (no full reply within 5 s).
  attack.py school --port P --joins N --seconds S [--bind ADDR]
      N pupils behind one address join (GET /waitroom/status without a ticket), evenly over
      S seconds, each on its own connection. Prints how many were admitted, queued or refused.

  attack.py solve --port P --places N
      A bot that pays: N times, asks for a place from another IPv6 /64 (the gate must trust
      X-Forwarded-For), solves the proof of work it is given with Python's hashlib SHA-256 on
      one core, and sends the solution with the cookie it was challenged with. Prints the
      median and p90 seconds of solving per place, the hashes a second, and how many solutions
      bought a place.

Only 127.0.0.0/8 is accepted as a target or a source.
"""

import argparse
import asyncio
import hashlib
import ipaddress
import json
import sys
import time
import urllib.parse

LOOPBACK = ipaddress.ip_network("127.0.0.0/8")


def loopback(address):
    if ipaddress.ip_address(address) not in LOOPBACK:
        sys.exit(f"attack.py: {address} is not a loopback address")
    return address


async def request(host, port, path, bind, timeout=5.0):
    """One GET on a new connection; returns (status, body) or raises."""
    local = (bind, 0) if bind else None

    async def run():
        reader, writer = await asyncio.open_connection(host, port, local_addr=local)
        try:
            writer.write(
                f"GET {path} HTTP/1.1\r\nHost: gate\r\nAccept: application/json\r\n"
                "Connection: close\r\n\r\n".encode()
            )
            await writer.drain()
            data = await reader.read()
        finally:
            writer.close()
        head, _, body = data.partition(b"\r\n\r\n")
        status = int(head.split(b" ", 2)[1])
        return status, body

    return await asyncio.wait_for(run(), timeout)


async def hold(args):
    opened = closed = 0
    deadline = time.monotonic() + args.seconds

    async def one():
        nonlocal opened, closed
        while time.monotonic() < deadline:
            try:
                reader, writer = await asyncio.open_connection(args.host, args.port)
            except OSError:
                await asyncio.sleep(0.05)
                continue
            opened += 1
            try:
                if args.mode == "idle":
                    writer.write(b"GET /waitroom/health HTTP/1.1\r\nHost: gate\r\n\r\n")
                    await writer.drain()
                    await reader.read(4096)
                else:
                    writer.write(b"GET /waitroom/status HTTP/1.1\r\nHost: gate\r\n")
                    await writer.drain()
                k = 0
                while time.monotonic() < deadline:
                    if args.mode == "slow":
                        writer.write(f"X-Slow-{k}: a\r\n".encode())
                        await writer.drain()
                        k += 1
                    # A closed connection reads b"" (or fails): reopen it.
                    try:
                        data = await asyncio.wait_for(reader.read(4096), 2.0)
                    except asyncio.TimeoutError:
                        continue
                    if not data:
                        break
                closed += 1 if time.monotonic() < deadline else 0
            except OSError:
                closed += 1
            finally:
                writer.close()

    await asyncio.gather(*(one() for _ in range(args.connections)))
    print(json.dumps({"mode": args.mode, "connections": args.connections, "opened": opened,
                      "closed_by_gate": closed}))


def percentile(sorted_values, p):
    if not sorted_values:
        return float("nan")
    k = min(len(sorted_values) - 1, max(0, int(round(p / 100 * len(sorted_values) + 0.5)) - 1))
    return sorted_values[k]


async def probe(args):
    latencies, failures = [], 0
    for _ in range(args.requests):
        started = time.monotonic()
        try:
            status, _ = await request(args.host, args.port, args.path, args.bind)
            if status >= 500 and status != 503:
                failures += 1
            else:
                latencies.append((time.monotonic() - started) * 1000)
        except (OSError, asyncio.TimeoutError, ValueError, IndexError):
            failures += 1
        await asyncio.sleep(args.interval)
    latencies.sort()
    print(json.dumps({"requests": args.requests, "failures": failures,
                      "p50_ms": round(percentile(latencies, 50), 2),
                      "p99_ms": round(percentile(latencies, 99), 2),
                      "max_ms": round(latencies[-1], 2) if latencies else None}))


async def school(args):
    counts = {"admitted": 0, "queued": 0, "refused": 0, "other": 0}
    latencies = []
    started = time.monotonic()

    async def pupil(k):
        await asyncio.sleep(k * args.seconds / args.joins)
        t = time.monotonic()
        try:
            status, body = await request(args.host, args.port, "/waitroom/status", args.bind)
            state = json.loads(body).get("state")
        except (OSError, asyncio.TimeoutError, ValueError, IndexError):
            state = None
        latencies.append((time.monotonic() - t) * 1000)
        key = {"admitted": "admitted", "queued": "queued", "closed": "refused"}.get(state, "other")
        counts[key] += 1

    await asyncio.gather(*(pupil(k) for k in range(args.joins)))
    latencies.sort()
    counts.update({"joins": args.joins, "seconds": round(time.monotonic() - started, 1),
                   "p99_ms": round(percentile(latencies, 99), 2)})
    print(json.dumps(counts))


async def solve(args):
    """Challenge, solve, answer: what a place costs a bot that does the work."""
    seconds, hashes, bought = [], 0, 0

    async def get(path, headers):
        reader, writer = await asyncio.open_connection(args.host, args.port)
        try:
            lines = "".join(f"{k}: {v}\r\n" for k, v in headers.items())
            writer.write(f"GET {path} HTTP/1.1\r\nHost: gate\r\nAccept: application/json\r\n{lines}"
                         "Connection: close\r\n\r\n".encode())
            await writer.drain()
            data = await asyncio.wait_for(reader.read(), 5)
        finally:
            writer.close()
        head, _, body = data.partition(b"\r\n\r\n")
        cookies = [line.split(b":", 1)[1].strip().split(b";")[0].decode()
                   for line in head.split(b"\r\n") if line.lower().startswith(b"set-cookie:")]
        return json.loads(body), cookies

    for k in range(args.places):
        forwarded = {"X-Forwarded-For": f"2001:db8:{k:x}::1"}
        reply, cookies = await get("/waitroom/status", forwarded)
        if reply.get("state") != "challenge":
            continue
        prefix, target = reply["challenge"].encode(), reply["target"]
        t = time.monotonic()
        n = next(n for n in range(reply["max_number"] + 1)
                 if hashlib.sha256(prefix + str(n).encode()).hexdigest() == target)
        seconds.append(time.monotonic() - t)
        hashes += n + 1
        query = urllib.parse.urlencode({"challenge": reply["challenge"], "solution": n})
        answer, _ = await get(f"/waitroom/status?{query}", {**forwarded, "Cookie": "; ".join(cookies)})
        bought += answer.get("state") in ("queued", "admitted")
    seconds.sort()
    print(json.dumps({"places": args.places, "challenged": len(seconds), "bought": bought,
                      "median_s": round(percentile(seconds, 50), 3) if seconds else None,
                      "p90_s": round(percentile(seconds, 90), 3) if seconds else None,
                      "hashes_per_s": round(hashes / sum(seconds)) if seconds else None},
                     separators=(",", ":")))


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="command", required=True)
    for name in ("hold", "probe", "school", "solve"):
        p = sub.add_parser(name)
        p.add_argument("--host", default="127.0.0.1", type=loopback)
        p.add_argument("--port", type=int, required=True)
        p.add_argument("--bind", default=None, type=loopback)
    sub.choices["hold"].add_argument("--mode", choices=["slow", "idle"], required=True)
    sub.choices["hold"].add_argument("--connections", type=int, default=2000)
    sub.choices["hold"].add_argument("--seconds", type=float, default=20)
    sub.choices["probe"].add_argument("--path", default="/waitroom/status")
    sub.choices["probe"].add_argument("--requests", type=int, default=200)
    sub.choices["probe"].add_argument("--interval", type=float, default=0.05)
    sub.choices["school"].add_argument("--joins", type=int, default=2000)
    sub.choices["school"].add_argument("--seconds", type=float, default=120)
    sub.choices["solve"].add_argument("--places", type=int, default=20)
    args = parser.parse_args()
    if getattr(args, "connections", 0) > 5000 or getattr(args, "seconds", 0) > 300:
        sys.exit("attack.py: at most 5000 connections and 300 seconds")
    if getattr(args, "places", 0) > 1000:
        sys.exit("attack.py: at most 1000 places")
    asyncio.run({"hold": hold, "probe": probe, "school": school, "solve": solve}[args.command](args))


if __name__ == "__main__":
    main()
