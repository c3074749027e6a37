"""One llama.cpp OpenAI server for one model, run inside this process by xllamacpp.

``xllamacpp.Server(params)`` blocks while the model loads (about 0.4 s for SmolLM2), then
returns with llama.cpp's own HTTP server already listening on its own native threads;
dropping the last reference stops it and frees the model. Both calls hold no Python
locks for long, but they do block, so async callers run them in a worker thread.
"""

import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import xllamacpp

from computemesh.errors import ModelLoadError
from computemesh.inference.spec import ModelKind, ModelSpec

# llama.cpp's log verbosity; below zero silences the per-tensor load chatter and the
# per-request access log that would otherwise flood a node's terminal.
_QUIET = -1
READY_TIMEOUT_S = 30.0


@dataclass(frozen=True, slots=True)
class ServerOptions:
    """How hard to run one model: threads, slots and the context of each slot."""

    threads: int = 2
    parallel: int = 4
    ctx_size: int = 2048


def _params(spec: ModelSpec, options: ServerOptions) -> Any:
    params = xllamacpp.CommonParams()
    params.model.path = str(spec.path)
    params.model_alias = {spec.model_id}
    params.hostnames = ["127.0.0.1"]
    params.port = 0  # the OS picks a free port; read back from listening_address
    params.cpuparams.n_threads = options.threads
    params.cpuparams_batch.n_threads = options.threads
    # Sleep instead of spinning between steps. A spinning worker preempted by any other
    # runnable thread (the node relaying tokens, the client reading them) stalls every
    # step: measured on 2 cores, 2 threads streamed 6-72 tokens/s spinning, 122-156 not.
    params.cpuparams.poll = 0
    params.cpuparams_batch.poll = 0
    params.n_parallel = options.parallel
    params.cont_batching = True
    # llama.cpp splits n_ctx across the slots; ctx_size is what each request gets.
    params.n_ctx = options.ctx_size * options.parallel
    params.verbosity = _QUIET
    # Busy slots and token counts, read by the node for its own /metrics.
    params.endpoint_metrics = True
    if spec.chat_template is not None:
        params.chat_template = spec.chat_template
    if spec.kind is ModelKind.EMBEDDING:
        params.embedding = True
        params.pooling_type = xllamacpp.llama_pooling_type.LLAMA_POOLING_TYPE_MEAN
    return params


@dataclass
class LlamaServer:
    """A running llama.cpp server; ``base_url`` is an OpenAI-compatible upstream."""

    spec: ModelSpec
    base_url: str
    _server: Any = field(repr=False)

    @classmethod
    def start(cls, spec: ModelSpec, options: ServerOptions) -> "LlamaServer":
        """Load ``spec`` and start serving it on 127.0.0.1 (blocks while it loads)."""
        try:
            server = xllamacpp.Server(_params(spec, options))
        except RuntimeError as exc:
            # xllamacpp reports every failure as "Failed to init server"; say which file.
            raise ModelLoadError(spec.path, f"llama.cpp refused it ({exc})") from exc
        running = cls(spec, server.listening_address.rstrip("/"), server)
        running._wait_until_serving()
        return running

    def _wait_until_serving(self) -> None:
        """Return once the HTTP loop answers.

        The server's HTTP thread starts after the constructor returns; destroying the
        server before that loop runs made the destructor wait on the thread forever
        (seen when a second model failed right after a first one loaded).
        """
        deadline = time.monotonic() + READY_TIMEOUT_S
        while time.monotonic() < deadline:
            try:
                if httpx.get(self.base_url + "/health", timeout=1.0).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.01)
        raise ModelLoadError(self.spec.path, f"llama.cpp did not answer in {READY_TIMEOUT_S} s")

    @property
    def path(self) -> Path:
        return self.spec.path

    def stop(self) -> None:
        """Stop listening and free the model; idempotent."""
        # The C++ destructor joins the HTTP and slot threads when the last ref goes.
        self._server = None
