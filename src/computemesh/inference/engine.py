"""The local inference engine: one llama.cpp server per model, started and stopped together.

Use under trio (loads run in a worker thread so the node's loop keeps serving)::

    async with open_engine(settings, progress=RichProgress()) as engine:
        for provider in engine.providers:
            ...  # register provider.base_url as service "llm", group model=<provider.model_id>

Each provider is an OpenAI-compatible upstream, exactly like a vLLM, Ollama or
llama-server URL registered by hand: nothing else about it is special.
"""

from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass

import trio

from computemesh.config.engine import EngineSettings
from computemesh.inference.discovery import check_gguf, discover
from computemesh.inference.llama_server import LlamaServer, ServerOptions
from computemesh.inference.progress import LoadProgress, NoProgress
from computemesh.inference.spec import ModelKind, ModelSpec


@dataclass(frozen=True, slots=True)
class Provider:
    """A served model as the mesh sees it: an id, what it does and a loopback base URL."""

    model_id: str
    kind: ModelKind
    base_url: str

    @property
    def openai_url(self) -> str:
        """The base URL the ``openai`` SDK expects (``…/v1``)."""
        return f"{self.base_url}/v1"


def options_of(settings: EngineSettings) -> ServerOptions:
    return ServerOptions(settings.threads, settings.parallel, settings.ctx_size)


class Engine:
    """Servers for a fixed list of models; start them all, stop them all."""

    def __init__(self, options: ServerOptions, progress: LoadProgress | None = None) -> None:
        self._options = options
        self._progress = progress or NoProgress()
        self._servers: list[LlamaServer] = []

    @property
    def providers(self) -> list[Provider]:
        return [Provider(s.spec.model_id, s.spec.kind, s.base_url) for s in self._servers]

    def start_sync(self, specs: Sequence[ModelSpec]) -> None:
        """Load each model in turn; on a failure, stop those already started and raise."""
        try:
            for spec in specs:
                check_gguf(spec.path)
                with self._progress.loading(spec):
                    self._servers.append(LlamaServer.start(spec, self._options))
        except BaseException:
            self.stop_sync()
            raise

    def add_sync(self, spec: ModelSpec) -> Provider:
        """Load one more model beside those running; a failure leaves the others serving."""
        check_gguf(spec.path)
        with self._progress.loading(spec):
            server = LlamaServer.start(spec, self._options)
        self._servers.append(server)
        return Provider(spec.model_id, spec.kind, server.base_url)

    def stop_sync(self) -> None:
        while self._servers:
            self._servers.pop().stop()

    async def start(self, specs: Sequence[ModelSpec]) -> None:
        await trio.to_thread.run_sync(self.start_sync, specs)

    async def add(self, spec: ModelSpec) -> Provider:
        return await trio.to_thread.run_sync(self.add_sync, spec)

    async def stop(self) -> None:
        # Shielded: stopping must finish even when the caller is being cancelled,
        # or llama.cpp threads would outlive the node.
        with trio.CancelScope(shield=True):
            await trio.to_thread.run_sync(self.stop_sync)


@asynccontextmanager
async def open_engine(
    settings: EngineSettings,
    specs: Sequence[ModelSpec] | None = None,
    progress: LoadProgress | None = None,
) -> AsyncIterator[Engine]:
    """Start an engine for ``specs`` (default: what ``settings`` discovers); stop on exit."""
    engine = Engine(options_of(settings), progress)
    chosen = await trio.to_thread.run_sync(discover, settings) if specs is None else specs
    await engine.start(chosen)
    try:
        yield engine
    finally:
        await engine.stop()
