"""The hardware summary a node claims in its record."""

import logging

import psutil
import pynvml

from computemesh.protocol.mesh import GpuClaim, HardwareClaim

MIB = 1024 * 1024
log = logging.getLogger(__name__)


def gpus() -> tuple[GpuClaim, ...]:
    """NVIDIA GPUs with their memory; empty when there is no GPU or no driver."""
    try:
        pynvml.nvmlInit()
    except pynvml.NVMLError:  # no driver or no GPU
        return ()
    try:
        found = []
        for index in range(pynvml.nvmlDeviceGetCount()):
            handle = pynvml.nvmlDeviceGetHandleByIndex(index)
            name = pynvml.nvmlDeviceGetName(handle)
            memory = pynvml.nvmlDeviceGetMemoryInfo(handle)
            found.append(
                GpuClaim(
                    name=name.decode() if isinstance(name, bytes) else str(name),
                    total_memory=int(memory.total) // MIB,
                    used_memory=int(memory.used) // MIB,
                )
            )
        return tuple(found)
    except Exception:
        log.warning("could not read GPU information", exc_info=True)
        return ()
    finally:
        pynvml.nvmlShutdown()


def summary(gpu_list: tuple[GpuClaim, ...] | None = None) -> HardwareClaim:
    memory = psutil.virtual_memory()
    return HardwareClaim(
        gpus=gpus() if gpu_list is None else gpu_list,
        host_memory=memory.total // MIB,
        host_memory_used=(memory.total - memory.available) // MIB,
        cpu_count=psutil.cpu_count() or 0,
    )
