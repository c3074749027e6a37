"""A small OpenAI-shaped upstream for tests and benches, run as its own process.

``python -m tests.support.openai_upstream --port P --name A --latency 0.02``

- ``POST /v1/chat/completions`` answers after ``latency`` s; with ``"stream": true``
  it sends ``max_tokens`` SSE chunks ``chunk_delay`` s apart, then ``data: [DONE]``.
- ``GET /v1/models`` lists ``--model`` ids; ``GET /health`` is healthy.
- ``--post-only`` makes ``GET /health`` and ``GET /`` answer 500, as a model API that
  serves nothing but its POST route does (AICN's are often so).
- ``/echo/...`` returns what arrived (method, path, query, headers, body size).
- Like llama-server, answers to a request with an ``Origin`` carry CORS headers of
  their own (that origin, with credentials), which a node must not pass on.
- ``/api/v0/add`` and ``/ipfs/<cid>`` behave like a small kubo node (raw CIDv1 blocks).
- ``--fail`` makes every request under ``/v1`` answer 500.
- ``--echo-request`` makes a chat answer's content the JSON body the upstream got.
- ``--capacity N`` serves at most N requests at once (others queue), so a provider
  has a real throughput limit for routing benches.
- ``POST /v1/images/generations`` draws ``n`` small PNGs from the prompt: the PNG
  bytes themselves for ``n`` = 1, else OpenAI's ``{"data": [{"b64_json"}]}``.
"""

import argparse
import base64
import email
import json
import struct
import time
import zlib
from collections.abc import AsyncIterator

import anyio
from hypercorn.asyncio import serve
from hypercorn.config import Config
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response, StreamingResponse
from starlette.routing import Route

from computemesh.node.api.aicn.content import cid_of


def with_own_cors(request: Request, response: Response) -> Response:
    """What llama-server adds: the caller's origin, credentials allowed."""
    if origin := request.headers.get("origin"):
        response.headers["access-control-allow-origin"] = origin
        response.headers["access-control-allow-credentials"] = "true"
    return response


class Upstream:
    def __init__(self, args: argparse.Namespace) -> None:
        self.args = args
        self.slots = anyio.Semaphore(args.capacity) if args.capacity else None
        self.ipfs_blocks: dict[str, bytes] = {}
        self.abandoned = 0  # requests whose caller left before the answer was ready

    def app(self) -> Starlette:
        root = [Route("/health", self.broken), Route("/", self.broken)]
        return Starlette(
            routes=[
                *(root if self.args.post_only else [Route("/health", self.health)]),
                Route("/stats", self.stats),
                Route("/v1/models", self.models),
                Route("/v1/chat/completions", self.chat, methods=["POST"]),
                Route("/v1/images/generations", self.images, methods=["POST"]),
                Route("/echo/{rest:path}", self.echo, methods=["GET", "POST", "PATCH"]),
                Route("/api/v0/add", self.ipfs_add, methods=["POST"]),
                Route("/ipfs/{cid}", self.ipfs_get),
            ]
        )

    async def health(self, request: Request) -> Response:
        return JSONResponse({"status": "ok", "name": self.args.name})

    async def broken(self, request: Request) -> Response:
        return Response("Internal Server Error", status_code=500)

    async def stats(self, request: Request) -> Response:
        return JSONResponse({"abandoned": self.abandoned})

    async def models(self, request: Request) -> Response:
        data = [{"id": m, "object": "model", "owned_by": self.args.name} for m in self.args.model]
        return JSONResponse({"object": "list", "data": data})

    async def echo(self, request: Request) -> Response:
        body = await request.body()
        response = JSONResponse(
            {
                "name": self.args.name,
                "method": request.method,
                "raw_path": request.scope["raw_path"].decode("latin-1"),
                "query": request.url.query,
                "headers": dict(request.headers),
                "body_bytes": len(body),
            }
        )
        # ``?set-cookie=name=value`` answers with that cookie, to show nothing keeps it.
        if cookie := request.query_params.get("set-cookie"):
            response.headers.append("set-cookie", cookie)
        return with_own_cors(request, response)

    async def ipfs_add(self, request: Request) -> Response:
        """What a kubo node's ``/api/v0/add`` answers, for one file of one raw block."""
        if request.query_params.get("cid-version") != "1":
            return JSONResponse({"Message": "this test node speaks CIDv1 only"}, status_code=400)
        head = f"Content-Type: {request.headers['content-type']}\r\n\r\n".encode()
        form = email.message_from_bytes(head + await request.body())
        [part] = form.get_payload()
        data = part.get_payload(decode=True)
        cid = cid_of(data)
        self.ipfs_blocks[cid] = data
        return JSONResponse({"Name": part.get_filename(), "Hash": cid, "Size": str(len(data))})

    async def ipfs_get(self, request: Request) -> Response:
        data = self.ipfs_blocks.get(request.path_params["cid"])
        return Response(data) if data is not None else Response(status_code=404)

    async def images(self, request: Request) -> Response:
        body = json.loads(await request.body())
        await anyio.sleep(self.args.latency)
        prompt, count = str(body.get("prompt", "")), int(body.get("n") or 1)
        pictures = [png(f"{self.args.name} {prompt} {i}") for i in range(count)]
        if count == 1:
            return Response(pictures[0], media_type="image/png")
        data = [{"b64_json": base64.b64encode(p).decode()} for p in pictures]
        return JSONResponse({"created": int(time.time()), "data": data})

    async def chat(self, request: Request) -> Response:
        if self.args.fail:
            return JSONResponse({"error": {"message": "broken on purpose"}}, status_code=500)
        body = json.loads(await request.body())
        if body.get("stream"):
            return StreamingResponse(self._chunks(body), media_type="text/event-stream")
        if self.slots is None:
            await self._think(request)
        else:
            async with self.slots:
                await self._think(request)
        return with_own_cors(request, JSONResponse(self._completion(body)))

    async def _think(self, request: Request) -> None:
        """Wait out the latency, unless the caller leaves first (then count it)."""
        async with anyio.create_task_group() as tasks:

            async def watch() -> None:
                while (await request.receive())["type"] != "http.disconnect":
                    pass
                self.abandoned += 1
                tasks.cancel_scope.cancel()

            tasks.start_soon(watch)
            await anyio.sleep(self.args.latency)
            tasks.cancel_scope.cancel()

    def _completion(self, body: dict[str, object]) -> dict[str, object]:
        text = json.dumps(body) if self.args.echo_request else f"hello from {self.args.name}"
        return {
            "id": "chatcmpl-test",
            "object": "chat.completion",
            "created": int(time.time()),
            "model": body.get("model", ""),
            "choices": [
                {
                    "index": 0,
                    "message": {"role": "assistant", "content": text},
                    "finish_reason": "stop",
                }
            ],
            "usage": {"prompt_tokens": 3, "completion_tokens": 4, "total_tokens": 7},
        }

    async def _chunks(self, body: dict[str, object]) -> AsyncIterator[bytes]:
        count = int(str(body.get("max_tokens") or 8))
        for index in range(count):
            chunk = {
                "id": "chatcmpl-test",
                "object": "chat.completion.chunk",
                "model": body.get("model", ""),
                "choices": [{"index": 0, "delta": {"content": f"t{index} "}}],
            }
            yield f"data: {json.dumps(chunk)}\n\n".encode()
            await anyio.sleep(self.args.chunk_delay)
        yield b"data: [DONE]\n\n"


def png(text: str, side: int = 8) -> bytes:
    """A valid side x side grey PNG whose shade comes from ``text``."""
    shade = zlib.crc32(text.encode()) & 0xFF
    rows = b"".join(b"\x00" + bytes([shade]) * side for _ in range(side))

    def chunk(kind: bytes, data: bytes) -> bytes:
        crc = zlib.crc32(kind + data)
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", crc)

    header = struct.pack(">IIBBBBB", side, side, 8, 0, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(rows))
        + chunk(b"IEND", b"")
    )


def parse(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--name", default="upstream")
    parser.add_argument("--model", action="append", default=[])
    parser.add_argument("--latency", type=float, default=0.0)
    parser.add_argument("--chunk-delay", type=float, default=0.01)
    parser.add_argument("--post-only", action="store_true")
    parser.add_argument("--capacity", type=int, default=0)
    parser.add_argument("--fail", action="store_true")
    parser.add_argument("--echo-request", action="store_true")
    return parser.parse_args(argv)


def main() -> None:
    args = parse()
    config = Config()
    config.bind = [f"127.0.0.1:{args.port}"]
    config.accesslog = None
    config.errorlog = None
    app = Upstream(args).app()
    import asyncio

    asyncio.run(serve(app, config))  # type: ignore[arg-type]


if __name__ == "__main__":
    main()
