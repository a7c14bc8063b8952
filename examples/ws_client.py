"""A command-line client for themisgate's WebSocket endpoints (the `websockets` library).

    python examples/ws_client.py search "solar panels" --top-k 5 [--collection docs]
    python examples/ws_client.py listen --client-id alice        # broadcasts and messages
    python examples/ws_client.py broadcast '{"text": "hello"}' --client-id alice
    python examples/ws_client.py send bob '"psst"' --client-id alice
    python examples/ws_client.py status                          # adapter status, live
    python examples/ws_client.py logs --level WARNING --token "$ADMIN_KEY"

`--url` is the server (default http://127.0.0.1:8000); `--token` an API key or JWT, sent
as `Authorization: Bearer` (browsers, which cannot set headers, use the `access_token`
query parameter or the subprotocol pair `bearer, <token>` instead). `listen`, `status`
and `logs` reconnect with growing pauses when the connection drops, and ping the server
so an idle connection is not closed. The protocol: docs/websocket-protocol.md.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import random
import sys
from collections.abc import AsyncIterator
from typing import Any
from urllib.parse import urlencode

import websockets
from websockets.asyncio.client import ClientConnection

# close codes after which reconnecting cannot help
FINAL_CODES = {1008, 4401, 4403}


def socket_url(base: str, path: str, **query: str | None) -> str:
    scheme_fixed = base.replace("https://", "wss://").replace("http://", "ws://").rstrip("/")
    params = {k: v for k, v in query.items() if v}
    return f"{scheme_fixed}{path}" + (f"?{urlencode(params)}" if params else "")


@contextlib.asynccontextmanager
async def connect(url: str, token: str | None) -> AsyncIterator[ClientConnection]:
    headers = {"Authorization": f"Bearer {token}"} if token else None
    async with websockets.connect(url, additional_headers=headers, open_timeout=10) as ws:
        hello = json.loads(await ws.recv())
        if hello["type"] == "error":  # refused: the error frame, then the close
            raise SystemExit(f"refused: {hello['code']}: {hello['message']}")
        yield ws


async def keep_alive(ws: ClientConnection, every: float) -> None:
    """Ping the server so its idle timeout never closes a connection we still want."""
    while True:
        await asyncio.sleep(every)
        await ws.send(json.dumps({"action": "ping"}))


async def frames(ws: ClientConnection) -> AsyncIterator[dict[str, Any]]:
    async for message in ws:
        frame = json.loads(message)
        if frame["type"] not in ("heartbeat", "pong"):
            yield frame


async def search(args: argparse.Namespace) -> None:
    url = socket_url(args.url, "/api/v4/ws/search", client_id=args.client_id)
    async with connect(url, args.token) as ws:
        message: dict[str, Any] = {"action": "search", "query": args.query, "top_k": args.top_k}
        if args.collection:
            message["collection"] = args.collection
        await ws.send(json.dumps(message))
        async for frame in frames(ws):
            if frame["type"] == "result":
                data = frame["data"]
                text = json.dumps(data.get("document"), ensure_ascii=False)[:100]
                place = f"{frame['index'] + 1}/{frame['total']}"
                print(f"{place:>7}  {data['score']:.3f}  {data['id']}  {text}")
            elif frame["type"] == "search_complete":
                print(f"{frame['total_results']} results")
                return
            elif frame["type"] == "error":
                raise SystemExit(f"error {frame['code']}: {frame['message']}")


async def one_message(args: argparse.Namespace, message: dict[str, Any]) -> None:
    url = socket_url(args.url, "/api/v4/ws/search", client_id=args.client_id)
    async with connect(url, args.token) as ws:
        await ws.send(json.dumps(message))
        # a ping after it: its pong means the server has handled the message before
        await ws.send(json.dumps({"action": "ping", "id": "done"}))
        async for raw in ws:
            frame = json.loads(raw)
            if frame["type"] == "error":
                raise SystemExit(f"error {frame['code']}: {frame['message']}")
            if frame["type"] == "pong" and frame.get("id") == "done":
                return


async def stream(args: argparse.Namespace, path: str, **query: str | None) -> None:
    """Print every frame of `path`, reconnecting (with back-off) when the connection drops."""
    attempt = 0
    last_log_id: str | None = None
    while True:
        if last_log_id:
            query["last_event_id"] = last_log_id  # the log stream resumes after it
        url = socket_url(args.url, path, **query)
        try:
            async with connect(url, args.token) as ws:
                attempt = 0
                pinger = asyncio.create_task(keep_alive(ws, args.ping_seconds))
                try:
                    async for frame in frames(ws):
                        if frame["type"] == "log":
                            last_log_id = frame["id"]
                        print(json.dumps(frame, ensure_ascii=False), flush=True)
                finally:
                    pinger.cancel()
                code = ws.close_code
        except websockets.ConnectionClosed as closed:
            code = closed.rcvd.code if closed.rcvd else 1006
        except OSError as exc:
            code = None
            print(f"cannot connect: {exc}", file=sys.stderr)
        if code in FINAL_CODES:
            raise SystemExit(f"closed with {code}; not reconnecting")
        delay = min(30.0, 0.5 * 2**attempt) * random.uniform(0.5, 1.0)
        attempt += 1
        print(f"connection closed ({code}); reconnecting in {delay:.1f}s", file=sys.stderr)
        await asyncio.sleep(delay)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--url", default="http://127.0.0.1:8000")
    parser.add_argument("--token", help="API key or JWT")
    parser.add_argument("--client-id")
    parser.add_argument("--ping-seconds", type=float, default=20.0)
    commands = parser.add_subparsers(dest="command", required=True)
    found = commands.add_parser("search")
    found.add_argument("query")
    found.add_argument("--top-k", type=int, default=5)
    found.add_argument("--collection")
    commands.add_parser("listen")
    shout = commands.add_parser("broadcast")
    shout.add_argument("message", help="a JSON value")
    tell = commands.add_parser("send")
    tell.add_argument("to")
    tell.add_argument("message", help="a JSON value")
    commands.add_parser("status")
    logs = commands.add_parser("logs")
    logs.add_argument("--level", default="INFO")
    args = parser.parse_args()

    if args.command == "search":
        job = search(args)
    elif args.command == "listen":
        job = stream(args, "/api/v4/ws/search", client_id=args.client_id)
    elif args.command == "broadcast":
        job = one_message(args, {"action": "broadcast", "message": json.loads(args.message)})
    elif args.command == "send":
        message = {"action": "send", "to": args.to, "message": json.loads(args.message)}
        job = one_message(args, message)
    elif args.command == "status":
        job = stream(args, "/api/v4/ws/adapter/status")
    else:
        job = stream(args, "/api/v4/ws/logs", log_level=args.level)
    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(job)


if __name__ == "__main__":
    main()
