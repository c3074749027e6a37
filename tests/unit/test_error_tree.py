"""``computemesh.errors`` maps the exception tree that is actually raised.

Read from the sources' syntax trees: every exception class computemesh defines is in the
tree (or one of the few that must keep a library's type), named where the tree is
drawn, and raised somewhere (or the base of one that is).
"""

import ast
import builtins
from pathlib import Path

import computemesh
from computemesh import errors

SOURCES = Path(computemesh.__file__).parent
ROOT = "ComputemeshError"
LIBRARY_BASES = {"HTTPException", "ReadTimeout"}  # Starlette's, httpx's
OUTSIDERS = {"BodyTooLarge", "CallerGone", "DeadlinePassed"}  # errors.py says why
BUILTIN = {
    name
    for name, value in vars(builtins).items()
    if isinstance(value, type) and issubclass(value, BaseException)
}


def _name(node: ast.expr) -> str:
    return node.attr if isinstance(node, ast.Attribute) else getattr(node, "id", "")


def _modules() -> dict[Path, ast.Module]:
    return {path: ast.parse(path.read_text()) for path in SOURCES.rglob("*.py")}


def _classes(modules: dict[Path, ast.Module]) -> dict[str, tuple[Path, list[str]]]:
    """Class name → (its file, its bases' names)."""
    return {
        node.name: (path, [_name(base) for base in node.bases])
        for path, tree in modules.items()
        for node in ast.walk(tree)
        if isinstance(node, ast.ClassDef)
    }


def _is_exception(name: str, classes: dict[str, tuple[Path, list[str]]]) -> bool:
    if name in BUILTIN or name in LIBRARY_BASES:
        return True
    return name in classes and any(_is_exception(b, classes) for b in classes[name][1])


def _in_tree(name: str, classes: dict[str, tuple[Path, list[str]]]) -> bool:
    return name == ROOT or (name in classes and any(_in_tree(b, classes) for b in classes[name][1]))


def _called(modules: dict[Path, ast.Module]) -> set[str]:
    return {
        _name(node.func)
        for tree in modules.values()
        for node in ast.walk(tree)
        if isinstance(node, ast.Call)
    }


def test_every_exception_is_in_the_tree_drawn_and_raised() -> None:
    modules = _modules()
    classes = _classes(modules)
    defined = {name for name in classes if _is_exception(name, classes)}
    tree = {name for name in defined if _in_tree(name, classes)}
    assert defined - tree == OUTSIDERS
    drawn = errors.__doc__ or ""
    undrawn = {n for n in tree if n not in drawn and n not in _docstring(modules, classes, n)}
    assert undrawn == set()
    bases = {base for name in tree for base in classes[name][1]}
    assert tree - _called(modules) - bases == set()  # never raised, nor a base: gone


def _docstring(
    modules: dict[Path, ast.Module], classes: dict[str, tuple[Path, list[str]]], name: str
) -> str:
    """The docstring of the module that defines ``name`` (a layer draws its own subtree)."""
    return ast.get_docstring(modules[classes[name][0]]) or ""
