"""Local inference: the only package that imports the engine (llama.cpp via xllamacpp).

``engine`` starts one llama.cpp OpenAI server per model on 127.0.0.1 and hands out
:class:`Provider` entries (model id, kind, base URL) for the node to register as HTTP
upstreams; ``discovery`` finds models in a folder and in packages; ``progress`` shows
loads on a terminal.
"""

import importlib
from typing import TYPE_CHECKING, Any

from computemesh.inference.progress import LoadProgress, NoProgress, RichProgress
from computemesh.inference.spec import ModelKind, ModelSpec

if TYPE_CHECKING:
    from computemesh.inference.discovery import discover, models_in_dir, spec_of
    from computemesh.inference.engine import Engine, Provider, open_engine, options_of
    from computemesh.inference.llama_server import LlamaServer, ServerOptions
    from computemesh.inference.packaged import default_chat_model

# The engine brings llama.cpp, numpy and gguf: tens of MiB that a node serving no
# model should not carry, so those names load on first use.
_LAZY = {
    "discover": "discovery",
    "models_in_dir": "discovery",
    "spec_of": "discovery",
    "Engine": "engine",
    "Provider": "engine",
    "open_engine": "engine",
    "options_of": "engine",
    "LlamaServer": "llama_server",
    "ServerOptions": "llama_server",
    "default_chat_model": "packaged",
}


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(importlib.import_module(f"{__name__}.{module}"), name)


__all__ = [
    "Engine",
    "LlamaServer",
    "LoadProgress",
    "ModelKind",
    "ModelSpec",
    "NoProgress",
    "Provider",
    "RichProgress",
    "ServerOptions",
    "default_chat_model",
    "discover",
    "models_in_dir",
    "open_engine",
    "options_of",
    "spec_of",
]
