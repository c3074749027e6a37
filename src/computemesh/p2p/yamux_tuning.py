"""Cost: py-libp2p's yamux reads its ``PY_YAMUX_*`` tuning from the environment per frame.

Every DATA frame read looks up ``PY_YAMUX_DATA_READ_TIMEOUT`` (and parses it), every
window credit ``PY_YAMUX_BATCH_THRESHOLD_DIV`` and ``PY_YAMUX_DISABLE_HYSTERESIS``,
and the frame body is read under ``trio.fail_after``, a generator context manager.
Relaying a stream of small messages (one SSE event each), these took about a tenth
of an entry node's busy time, measured with py-spy. The tuning is read once here,
when the node starts, as the rest of its configuration is; the same environment
variables still apply, and the body read keeps its limit with a plain cancel scope.
"""

from typing import Any

import trio
from libp2p.io.utils import read_exactly
from libp2p.stream_muxer.yamux import yamux as yamux_module
from libp2p.stream_muxer.yamux.yamux import Yamux

from computemesh.p2p import noise_reads

_SETTINGS = (
    "_perf_yamux_debug_enabled",
    "_yamux_disable_hysteresis",
    "_yamux_release_on_read",
    "_yamux_batch_threshold_divisor",
    "_yamux_data_read_timeout",
)


def install() -> None:
    """Freeze each setting at its current value and bound body reads with a scope."""
    module: Any = yamux_module
    for name in _SETTINGS:
        original = getattr(module, "_original" + name, None) or getattr(module, name)
        setattr(module, "_original" + name, original)
        setattr(module, name, _constant(original()))
    muxer: Any = Yamux
    muxer._read_data_body = _read_data_body


def _constant(value: Any) -> Any:
    return lambda: value


async def _read_data_body(self: Any, length: int) -> bytes:
    reads = noise_reads.reads_of(self.secured_conn)
    arrived = None if reads is None else reads.take(length)
    if arrived is not None:  # came with its header: no wait, so no time limit to set
        return arrived
    with trio.move_on_after(yamux_module._yamux_data_read_timeout()):
        data: bytes = await read_exactly(self.secured_conn, length)
        return data
    raise trio.TooSlowError  # what libp2p's own version raises when the limit passes
