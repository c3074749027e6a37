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
from computemesh.p2p.patch_registry import Target, declare

_SETTINGS = (
    "_perf_yamux_debug_enabled",
    "_yamux_disable_hysteresis",
    "_yamux_release_on_read",
    "_yamux_batch_threshold_divisor",
    "_yamux_data_read_timeout",
)


YAMUX_TUNING_PATCH = declare(
    "yamux_tuning",
    Target(
        "libp2p.stream_muxer.yamux.yamux",
        "_perf_yamux_debug_enabled",
        "6ee95fb036e9c7cbb656c7993b53a23e46ac80e4df405925a1f7d963bd3c56ae",
    ),
    Target(
        "libp2p.stream_muxer.yamux.yamux",
        "_yamux_disable_hysteresis",
        "2c8c61dd4f0c4059483cf288aa6e094004c345feeb09cdba7ac683e12ea3ccd4",
    ),
    Target(
        "libp2p.stream_muxer.yamux.yamux",
        "_yamux_release_on_read",
        "2727aa9962fb820999e081e4625b14f1104a7d62794f86842aebb311d55df520",
    ),
    Target(
        "libp2p.stream_muxer.yamux.yamux",
        "_yamux_batch_threshold_divisor",
        "a25c7af94f798c4aa2cd09b3862ddee12339135a2429ac8b3fc07fe73197bfba",
    ),
    Target(
        "libp2p.stream_muxer.yamux.yamux",
        "_yamux_data_read_timeout",
        "0f5873d6b21e00f7b5767b46b9c3f31f026194c08275311bf4e8bfc033dfcba5",
    ),
    Target(
        "libp2p.stream_muxer.yamux.yamux",
        "Yamux._read_data_body",
        "54cc06c91ba6ee159e0eefaf4802b3111fdce60fe1de566e267127c5fb2e0c41",
    ),
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
