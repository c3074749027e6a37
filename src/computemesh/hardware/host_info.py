"""This machine's information in AICN's ``host/info`` shape: os, cpu, memory, disks, GPUs.

Collected with psutil, ``platform``, Linux sysfs for drives and NVML for NVIDIA GPUs.
Disk serial numbers identify a machine for good, so they are left empty unless the
operator opts in (AICN hands them to every peer that asks).
"""

import logging
import platform
from pathlib import Path

import psutil
import pynvml

from computemesh.protocol.aicn import CpuInfo, DiskInfo, GpuInfo, HostInfo, MemoryInfo, OsInfo

log = logging.getLogger(__name__)
SYS_BLOCK = Path("/sys/block")
SYS_MEMORY = Path("/sys/devices/system/memory")
SECTOR_BYTES = 512
VIRTUAL_DRIVES = ("loop", "ram", "zram", "dm-", "md", "sr", "nbd")


def host_info(*, disk_serials: bool = False) -> HostInfo:
    """Everything about this machine that ``POST /api/v0/host/info`` answers."""
    return HostInfo(
        os=os_info(), cpu=[cpu_info()], memory=memory_info(), disk=disks(disk_serials), gpu=gpus()
    )


def os_info() -> OsInfo:
    release = _os_release()
    return OsInfo(
        os=platform.system().lower(),
        platform=release.get("PRETTY_NAME", release.get("NAME", platform.platform())),
        platform_family=release.get("ID_LIKE", release.get("ID", "")),
        platform_version=release.get("VERSION_ID", platform.version()),
        kernel_version=platform.release(),
        kernel_arch=platform.machine(),
    )


def _os_release() -> dict[str, str]:
    try:
        return platform.freedesktop_os_release()
    except OSError:  # not Linux, or no os-release file
        return {}


def cpu_info() -> CpuInfo:
    threads = psutil.cpu_count(logical=True) or 0
    return CpuInfo(
        model_name=_cpu_model() or platform.processor() or platform.machine(),
        total_cores=psutil.cpu_count(logical=False) or threads,
        total_threads=threads,
    )


def _cpu_model() -> str:
    try:
        lines = Path("/proc/cpuinfo").read_text().splitlines()
    except OSError:
        return ""
    for line in lines:
        key, _, value = line.partition(":")
        if key.strip() == "model name":
            return value.strip()
    return ""


def memory_info() -> MemoryInfo:
    usable = int(psutil.virtual_memory().total)
    return MemoryInfo(
        total_physical_bytes=max(_physical_memory(), usable), total_usable_bytes=usable
    )


def _physical_memory() -> int:
    """Installed memory from sysfs memory blocks (usable memory excludes firmware reserves)."""
    try:
        block = int((SYS_MEMORY / "block_size_bytes").read_text().strip(), 16)
        blocks = [p for p in SYS_MEMORY.glob("memory[0-9]*") if _read(p / "online") == "1"]
    except (OSError, ValueError):
        return 0
    return block * len(blocks)


def disks(serials: bool) -> list[DiskInfo]:
    """Physical drives (loop, RAM and device-mapper devices left out)."""
    if not SYS_BLOCK.is_dir():
        return []
    found = []
    for device in sorted(SYS_BLOCK.iterdir()):
        if device.name.startswith(VIRTUAL_DRIVES):
            continue
        sectors = _read(device / "size")
        found.append(
            DiskInfo(
                drive_type="HDD" if _read(device / "queue" / "rotational") == "1" else "SSD",
                size_bytes=int(sectors) * SECTOR_BYTES if sectors.isdigit() else 0,
                model=_read(device / "device" / "model"),
                serial_number=_serial(device) if serials else "",
            )
        )
    return found


def _serial(device: Path) -> str:
    return _read(device / "device" / "serial") or _read(device / "serial")


def _read(path: Path) -> str:
    try:
        return path.read_text().strip()
    except OSError:
        return ""


def gpus() -> list[GpuInfo]:
    """NVIDIA GPUs with memory and utilisation; empty when there is no GPU or driver."""
    try:
        pynvml.nvmlInit()
    except pynvml.NVMLError:
        return []
    try:
        return [
            _gpu(pynvml.nvmlDeviceGetHandleByIndex(i)) for i in range(pynvml.nvmlDeviceGetCount())
        ]
    except pynvml.NVMLError:
        log.warning("could not read GPU information", exc_info=True)
        return []
    finally:
        pynvml.nvmlShutdown()


def _gpu(handle: object) -> GpuInfo:
    name = pynvml.nvmlDeviceGetName(handle)
    memory = pynvml.nvmlDeviceGetMemoryInfo(handle)
    try:
        utilization: int | None = int(pynvml.nvmlDeviceGetUtilizationRates(handle).gpu)
    except pynvml.NVMLError:  # some virtual GPUs do not report it
        utilization = None
    return GpuInfo(
        vendor="NVIDIA",
        product=name.decode() if isinstance(name, bytes) else str(name),
        memory_total_bytes=int(memory.total),
        memory_used_bytes=int(memory.used),
        utilization_percent=utilization,
    )
