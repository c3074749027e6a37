"""The node's local engine: started before the node joins, offered as service ``llm``.

Each loaded model becomes the identity-group entries ``model=<id>`` and
``<kind>=<id>`` (``chat`` or ``embedding``, see ``routing.catalog``) of service ``llm``,
served by its own llama.cpp server; :func:`registry.services.with_entries` keeps that
entry → URL map so a request for model X, from this node or a peer, reaches X's server.

A model can also be imported while the node runs (OffGrid's ``POST /v1/import``, for
models brought on a USB stick): its file is copied into the models folder first, since
llama.cpp maps the file it serves and a stick pulled out would take the model with it.
"""

import os
import shutil
import stat
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import TYPE_CHECKING

import anyio

from computemesh.config.node import NodeEngineSettings
from computemesh.errors import ModelLoadError
from computemesh.inference import LoadProgress, ModelSpec
from computemesh.routing.catalog import LLM_SERVICE, MODEL_KEY

if TYPE_CHECKING:
    from computemesh.inference import Engine, Provider

__all__ = ["LLM_SERVICE", "LocalModels", "open_local_models"]
IMPORTS_DIR = "models"  # under the data dir, when the node has no --models-dir


class LocalModels:
    """The models this node's engine serves: those loaded at start, and those imported since."""

    def __init__(
        self, settings: NodeEngineSettings, data_dir: Path, progress: LoadProgress | None = None
    ) -> None:
        self.settings = settings
        self.folder = settings.models_dir or data_dir / IMPORTS_DIR
        self._progress = progress
        self._engine: Engine | None = None
        self._importing = anyio.Lock()  # one import at a time: no id is taken twice
        self.entries: dict[str, str] = {}
        """``{"model=<id>": base_url, "<kind>=<id>": base_url}`` of every model served."""

    def serves(self, model_id: str) -> bool:
        return f"{MODEL_KEY}={model_id}" in self.entries

    async def start(self) -> None:
        """Load every model the settings ask for (none: the engine is not even loaded)."""
        if not self.settings.wanted:
            return
        from computemesh.inference import discover  # llama.cpp is loaded only when used

        specs = await anyio.to_thread.run_sync(discover, self.settings)
        engine = self._open()
        await engine.start(specs)
        for provider in engine.providers:
            self._offer(provider)

    async def import_file(self, source: Path, model_id: str | None = None) -> dict[str, str]:
        """Copy the GGUF ``source`` into the models folder and serve it; its new entries.

        Raises ModelLoadError naming the file: missing, unreadable, not a GGUF, a file
        of that name already there, or refused by llama.cpp.
        """
        async with self._importing:
            checked = await anyio.to_thread.run_sync(_checked, source, model_id)
            if self.serves(checked.model_id):
                raise ModelLoadError(source, f"model {checked.model_id} is already served here")
            copied = await anyio.to_thread.run_sync(self._copy, checked)
            return self._offer(await self._open().add(copied))

    def _copy(self, spec: ModelSpec) -> ModelSpec:
        target = self.folder / f"{spec.model_id}.gguf"
        if target.exists() and target.resolve() == spec.path.resolve():
            return spec  # already in the folder: served where it lies
        if target.exists():
            raise ModelLoadError(target, "a different file of that name is in the models folder")
        self.folder.mkdir(parents=True, exist_ok=True)
        partial = target.with_name(target.name + ".part")  # never discovered half-written
        try:
            shutil.copyfile(spec.path, partial)
            os.replace(partial, target)
        except OSError as error:
            partial.unlink(missing_ok=True)
            raise ModelLoadError(target, f"cannot copy it there ({error.strerror})") from error
        return ModelSpec(spec.model_id, target, spec.kind, spec.chat_template)

    def _open(self) -> "Engine":
        if self._engine is None:
            from computemesh.inference import Engine, options_of

            self._engine = Engine(options_of(self.settings), self._progress)
        return self._engine

    def _offer(self, provider: "Provider") -> dict[str, str]:
        added = {
            f"{MODEL_KEY}={provider.model_id}": provider.base_url,
            f"{provider.kind.value}={provider.model_id}": provider.base_url,
        }
        self.entries.update(added)
        return added

    async def stop(self) -> None:
        if self._engine is not None:
            await self._engine.stop()


def _checked(source: Path, model_id: str | None) -> ModelSpec:
    """The spec of ``source`` if it is a GGUF file; a FIFO or a device is never read."""
    from computemesh.inference import spec_of  # llama.cpp is loaded only when used

    try:
        regular = stat.S_ISREG(source.stat().st_mode)
    except OSError as error:
        raise ModelLoadError(source, error.strerror or str(error)) from error
    except ValueError as error:  # a NUL in the path
        raise ModelLoadError(repr(str(source)), str(error)) from error
    if not regular:
        raise ModelLoadError(source, "not a regular file")
    return spec_of(source, model_id)


@asynccontextmanager
async def open_local_models(
    settings: NodeEngineSettings, data_dir: Path, progress: LoadProgress | None = None
) -> AsyncIterator[LocalModels]:
    """The engine's models, loaded now and stopped on exit (imported ones too)."""
    models = LocalModels(settings, data_dir, progress)
    try:
        await models.start()
        yield models
    finally:
        await models.stop()
