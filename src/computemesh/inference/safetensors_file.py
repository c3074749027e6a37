"""Read a safetensors blob into numpy arrays (the format is a JSON header plus raw bytes).

Small enough to write here rather than pull in ``safetensors`` (and its torch-shaped API).
"""

import json
import struct

import numpy as np
from numpy.typing import NDArray

_DTYPES = {"F32": np.float32, "F16": np.float16, "I64": np.int64, "I32": np.int32}


def read_safetensors(blob: bytes) -> dict[str, NDArray[np.generic]]:
    """Every tensor in ``blob`` by name; arrays are views into ``blob``."""
    (header_size,) = struct.unpack_from("<Q", blob)
    header = json.loads(blob[8 : 8 + header_size])
    data = memoryview(blob)[8 + header_size :]
    tensors: dict[str, NDArray[np.generic]] = {}
    for name, entry in header.items():
        if name == "__metadata__":
            continue
        start, end = entry["data_offsets"]
        array = np.frombuffer(data[start:end], dtype=_DTYPES[entry["dtype"]])
        tensors[name] = array.reshape(entry["shape"])
    return tensors
