"""Defect: py-libp2p's service manager finds a task's parent by walking every task it runs.

``TrioManager.run_task`` asks ``_find_parent_task`` which managed task is running now,
and that walks the manager's whole task tree comparing trio tasks. Pubsub calls
``run_task`` once per message it receives, and its tree holds a reader per peer plus
one task per message in flight, so at 50 nodes the walk alone took up to 7% of an idle
node's CPU, growing with the peer count.

Here each managed task is remembered by its trio task when it starts, so the lookup is
a dictionary read plus a walk up to the task's root, which must still be one of this
manager's roots: the answer is the one the full walk would give.
"""

import weakref
from typing import Any

import trio
from libp2p.tools.anyio_service.trio_manager import TrioManager
from libp2p.tools.anyio_service.trio_tasks import FunctionTask

from computemesh.p2p.patch_registry import Target, declare

TASK_LOOKUP_PATCH = declare(
    "task_lookup",
    Target(
        "libp2p.tools.anyio_service.trio_tasks",
        "FunctionTask.trio_task",
        "71015577c0ee0bd7e58df5ebc10f3b42e6309c2af02c53feb72bd76d4e95ea22",
    ),
    Target(
        "libp2p.tools.anyio_service.trio_manager",
        "TrioManager._find_parent_task",
        "8aaad50f6da7590db9ace1358603662d3f1d696ebcfc0946d23b32d4de67437c",
    ),
)


# Weak both ways: a managed task holds its trio task, so a strong value here would keep
# every finished task (and its trio task) alive for ever.
_Owners = weakref.WeakKeyDictionary[trio.lowlevel.Task, "weakref.ref[FunctionTask]"]
_owners: _Owners = weakref.WeakKeyDictionary()
_trio_task_property: property = FunctionTask.__dict__["trio_task"]


def _set_trio_task(task: FunctionTask, value: trio.lowlevel.Task) -> None:
    assert _trio_task_property.fset is not None
    _trio_task_property.fset(task, value)
    _owners[value] = weakref.ref(task)


def _find_parent_task(manager: TrioManager, trio_task: trio.lowlevel.Task) -> Any:
    owner = _owners.get(trio_task)
    task = owner() if owner is not None else None
    if task is None:
        return None
    root: Any = task
    while root.parent is not None:
        root = root.parent
    # A task of another manager, or of a tree this one has let go, is not a parent here.
    return task if root in manager._root_tasks else None


def install() -> None:
    """Idempotent: patch the class once, before any host starts."""
    if installed():
        return
    task_class: Any = FunctionTask
    task_class.trio_task = property(_trio_task_property.fget, _set_trio_task)
    manager_class: Any = TrioManager
    manager_class._find_parent_task = _find_parent_task


def installed() -> bool:
    return FunctionTask.__dict__["trio_task"] is not _trio_task_property
