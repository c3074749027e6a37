"""OffGrid's ``GET /v1/stats``: uptime, the answers this server gave, its resource use.

Shaped as OffGrid's own answer (``server``, ``inference.models`` and ``aggregate``,
``system``, ``resources``), which its web UI and Python SDK read; ``models`` adds what
this node serves and what the mesh offers. Tokens are those the providers reported.
"""

import platform
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import psutil

from computemesh import __version__
from computemesh.node.api.state import NodeState
from computemesh.routing.catalog import mesh_models
from computemesh.routing.usage import UsageMeter

MIB = 1024 * 1024
GIB = 1024 * MIB
psutil.cpu_percent(None)  # each call measures since the one before: this is the first


def stats_body(state: NodeState) -> dict[str, Any]:
    rows = state.rows()
    return {
        "server": _server(state.started_at),
        "inference": _inference(state.usage),
        "system": _system(),
        "resources": _resources(_existing(state.settings.data_dir)),
        "models": {
            "local": sorted(
                entry.partition("=")[2]
                for entry in state.local_models.entries
                if entry.startswith("model=")
            ),
            "mesh": [model.id for model in mesh_models(rows).values() if model.online],
        },
    }


def _server(started_at: float) -> dict[str, Any]:
    uptime = max(time.time() - started_at, 0.0)
    return {
        "uptime": _duration(uptime),
        "uptime_seconds": int(uptime),
        "start_time": datetime.fromtimestamp(started_at, UTC).isoformat(timespec="seconds"),
        "version": __version__,
    }


def _duration(seconds: float) -> str:
    """``1h2m3s`` (as OffGrid writes an uptime)."""
    whole = int(seconds)
    hours, minutes, secs = whole // 3600, whole // 60 % 60, whole % 60
    return (f"{hours}h" if hours else "") + (f"{minutes}m" if hours or minutes else "") + f"{secs}s"


def _inference(usage: UsageMeter) -> dict[str, Any]:
    models = {
        model: {
            "model_id": model,
            "total_requests": counted.requests,
            "total_tokens": counted.total_tokens,
            "prompt_tokens": counted.prompt_tokens,
            "completion_tokens": counted.completion_tokens,
        }
        for model, counted in sorted(usage.models.items())
    }
    aggregate = {
        "total_requests": usage.requests,
        "total_tokens": usage.total_tokens,
        "models_used": len(models),
    }
    return {"models": models, "aggregate": aggregate}


def _system() -> dict[str, Any]:
    return {
        "os": platform.system().lower(),
        "arch": platform.machine(),
        "cpu_cores": psutil.cpu_count() or 0,
        "total_memory_gb": psutil.virtual_memory().total // GIB,
    }


def _existing(path: Path) -> Path:
    """``path``, or its nearest parent that exists: the disk the node's data go to."""
    while not path.exists() and path.parent != path:
        path = path.parent
    return path


def _resources(disk_path: Path) -> dict[str, Any]:
    memory, disk = psutil.virtual_memory(), psutil.disk_usage(str(disk_path))
    process = psutil.Process()
    return {
        "cpu_usage_percent": psutil.cpu_percent(None),
        "memory_used_mb": (memory.total - memory.available) // MIB,
        "memory_total_mb": memory.total // MIB,
        "memory_usage_percent": memory.percent,
        "disk_used_gb": disk.used // GIB,
        "disk_total_gb": disk.total // GIB,
        "disk_usage_percent": disk.percent,
        "process_memory_mb": process.memory_info().rss // MIB,
        "process_threads": process.num_threads(),
    }
