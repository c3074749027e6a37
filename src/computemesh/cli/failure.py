"""How a command fails: one red line on stderr and a non-zero exit, never a traceback.

Exit status 2 is for settings refused before anything starts, 1 for what failed after.
"""

from typing import NoReturn

import typer
from pydantic import ValidationError
from rich.console import Console
from rich.markup import escape

from computemesh.errors import ComputemeshError

INVALID_SETTINGS = 2
FAILED = 1

# soft_wrap: a long message stays one line, whatever the terminal's width.
errors = Console(stderr=True, soft_wrap=True, highlight=False)


def fail(label: str, message: str, status: int = FAILED) -> NoReturn:
    """Print ``label: message`` as one line on stderr and exit with ``status``."""
    line = " ".join(message.split())
    errors.print(f"[red]{escape(label)}:[/red] {escape(line)}")
    raise typer.Exit(status)


def refuse_settings(error: ValidationError | ComputemeshError) -> NoReturn:
    """Exit 2, naming each refused setting; never the refused values (they may be secrets)."""
    if isinstance(error, ValidationError):
        fail("invalid settings", problems(error), INVALID_SETTINGS)
    fail("invalid settings", str(error), INVALID_SETTINGS)


def problems(error: ValidationError) -> str:
    """``where: what`` for each problem, joined with ``; ``."""
    found = []
    for problem in error.errors(include_input=False, include_url=False):
        where = ".".join(str(part) for part in problem["loc"]) or "settings"
        found.append(f"{where}: {problem['msg'].removeprefix('Value error, ')}")
    return "; ".join(found)


def computemesh_error(error: BaseException) -> ComputemeshError | None:
    """The ``ComputemeshError`` that ``error`` is, or that a task group raised alone
    (as an exception group of it and nothing else); None for anything else."""
    if isinstance(error, ComputemeshError):
        return error
    if isinstance(error, BaseExceptionGroup):
        matched, rest = error.split(ComputemeshError)
        if matched is not None and rest is None:
            return _first_leaf(matched)
    return None


def _first_leaf(group: BaseExceptionGroup[ComputemeshError]) -> ComputemeshError:
    first = group.exceptions[0]
    return _first_leaf(first) if isinstance(first, BaseExceptionGroup) else first
