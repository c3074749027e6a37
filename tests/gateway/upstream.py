"""A small real OpenAI-shaped upstream on 127.0.0.1, standing in for a node.

It answers ``/v1/chat/completions`` (JSON or SSE), ``/v1/completions``,
``/v1/embeddings``, ``/v1/models`` and the OCF table ``/v1/dnt/table``, and names
itself in ``X-Computing-Node`` as a node does. Special model names choose a
behaviour: ``no-usage`` never reports usage, ``missing`` answers 404, ``broken`` 500.
Streamed, ``hang-stream`` sends a few words then waits (for a test to kill the
process), and ``cut-stream`` sends a few words then the error event a node ends a
cut stream with. ``GET /_stats`` counts the inference requests it served.

    python -m tests.gateway.upstream --port 9100 --node-id 12D3KooWtest
"""

import argparse
import asyncio
import json
import time
from collections.abc import AsyncIterator
from typing import Any

import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response, StreamingResponse
from starlette.routing import Route

WORDS = ["Hello", "!", " I", " am", " a", " tiny", " test", " model", "."]
WORDS_BEFORE_CUT = 3
# What a node sends when the stream behind it broke (its OpenAI-shaped error event).
NODE_CUT_EVENT = {
    "error": {
        "message": "the provider's stream broke: peer closed connection",
        "type": "upstream_error",
        "code": "stream_interrupted",
    }
}
MODELS = ["tiny-chat", "tiny-embed"]


def build(node_id: str) -> Starlette:
    stats = {"inference": 0}
    headers = {"x-computing-node": node_id}

    async def chat(request: Request) -> Response:
        body = await request.json()
        stats["inference"] += 1
        # The id each request came with, in this process's log (tests read it there).
        print(f"x-request-id={request.headers.get('x-request-id')}", flush=True)
        if error := _special(body, headers):
            return error
        prompt = sum(len(str(m.get("content", "")).split()) for m in body["messages"])
        if body.get("stream"):
            return StreamingResponse(
                _chat_stream(body, prompt), media_type="text/event-stream", headers=headers
            )
        answer = {
            "id": "chatcmpl-test",
            "object": "chat.completion",
            "created": int(time.time()),
            "model": body["model"],
            "choices": [
                {
                    "index": 0,
                    "message": {"role": "assistant", "content": "".join(WORDS)},
                    "finish_reason": "stop",
                }
            ],
        }
        if body["model"] != "no-usage":
            answer["usage"] = _usage(prompt, len(WORDS))
        return JSONResponse(answer, headers=headers)

    async def completions(request: Request) -> Response:
        body = await request.json()
        stats["inference"] += 1
        # The id each request came with, in this process's log (tests read it there).
        print(f"x-request-id={request.headers.get('x-request-id')}", flush=True)
        if error := _special(body, headers):
            return error
        return JSONResponse(
            {
                "id": "cmpl-test",
                "object": "text_completion",
                "created": int(time.time()),
                "model": body["model"],
                "choices": [{"index": 0, "text": " sunny.", "finish_reason": "stop"}],
                "usage": _usage(len(str(body["prompt"]).split()), 2),
            },
            headers=headers,
        )

    async def embeddings(request: Request) -> Response:
        body = await request.json()
        stats["inference"] += 1
        inputs = body["input"] if isinstance(body["input"], list) else [body["input"]]
        return JSONResponse(
            {
                "object": "list",
                "data": [
                    {"object": "embedding", "index": i, "embedding": [0.1, 0.2, 0.3]}
                    for i in range(len(inputs))
                ],
                "model": body["model"],
                "usage": {"prompt_tokens": len(inputs) * 3, "total_tokens": len(inputs) * 3},
            },
            headers=headers,
        )

    async def models(request: Request) -> Response:
        data = [{"id": m, "object": "model", "created": 0, "owned_by": node_id} for m in MODELS]
        return JSONResponse({"object": "list", "data": data}, headers=headers)

    async def table(request: Request) -> Response:
        return JSONResponse({f"/{node_id}": _peer(node_id)})

    async def get_stats(request: Request) -> Response:
        return JSONResponse(stats)

    return Starlette(
        routes=[
            Route("/v1/chat/completions", chat, methods=["POST"]),
            Route("/v1/completions", completions, methods=["POST"]),
            Route("/v1/embeddings", embeddings, methods=["POST"]),
            Route("/v1/models", models),
            Route("/v1/dnt/table", table),
            Route("/_stats", get_stats),
        ]
    )


def _special(body: dict[str, Any], headers: dict[str, str]) -> Response | None:
    if body.get("model") == "missing":
        return JSONResponse({"error": {"message": "model 'missing' not found"}}, 404, headers)
    if body.get("model") == "broken":
        return JSONResponse({"error": {"message": "engine crashed"}}, 500, headers)
    return None


async def _chat_stream(body: dict[str, Any], prompt: int) -> AsyncIterator[bytes]:
    def event(choices: list[Any], usage: dict[str, int] | None = None) -> bytes:
        chunk: dict[str, Any] = {
            "id": "chatcmpl-test",
            "object": "chat.completion.chunk",
            "created": int(time.time()),
            "model": body["model"],
            "choices": choices,
        }
        if usage is not None:
            chunk["usage"] = usage
        return f"data: {json.dumps(chunk)}\n\n".encode()

    yield event([{"index": 0, "delta": {"role": "assistant"}, "finish_reason": None}])
    if body["model"] in ("hang-stream", "cut-stream"):
        for word in WORDS[:WORDS_BEFORE_CUT]:
            yield event([{"index": 0, "delta": {"content": word}, "finish_reason": None}])
        if body["model"] == "cut-stream":
            yield f"data: {json.dumps(NODE_CUT_EVENT)}\n\n".encode()
            return
        await asyncio.Event().wait()  # until the process is killed
    for word in WORDS:
        yield event([{"index": 0, "delta": {"content": word}, "finish_reason": None}])
    yield event([{"index": 0, "delta": {}, "finish_reason": "stop"}])
    wants_usage = (body.get("stream_options") or {}).get("include_usage")
    if wants_usage and body["model"] != "no-usage":
        yield event([], _usage(prompt, len(WORDS)))
    yield b"data: [DONE]\n\n"


def _usage(prompt: int, completion: int) -> dict[str, int]:
    return {
        "prompt_tokens": prompt,
        "completion_tokens": completion,
        "total_tokens": prompt + completion,
    }


def _peer(node_id: str) -> dict[str, Any]:
    gpu = {"name": "NVIDIA H100", "total_memory": 81559, "used_memory": 0}
    service = {
        "name": "llm",
        "hardware": {"gpus": [gpu], "host_memory": 0},
        "status": "online",
        "host": "127.0.0.1",
        "port": "8080",
        "identity_group": ["model=tiny-chat", "chat=tiny-chat"],
    }
    # As a node's table has them: each model marked with what it serves, beside a
    # service of another name (OCF's example), which a node's /v1/* routes never reach.
    embed = {
        **service,
        "identity_group": ["model=tiny-embed", "embedding=tiny-embed", "hf=org/tiny"],
    }
    down = {**service, "status": "unhealthy", "identity_group": ["model=down-model"]}
    other = {**service, "name": "triteia", "identity_group": ["model=triteia-model"]}
    return {
        "id": node_id,
        "owner": "0x00000000000000000000000000000000000000aa",
        "service": [service, embed, down, other],
        "hardware": {"gpus": [gpu], "host_memory": 1024},
        "connected": True,
        "status": "online",
    }


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--node-id", default="12D3KooWTestUpstream")
    args = parser.parse_args()
    uvicorn.run(
        build(args.node_id),
        host="127.0.0.1",
        port=args.port,
        log_level="warning",
        access_log=False,
        loop="uvloop",
        http="httptools",
    )


if __name__ == "__main__":
    main()
