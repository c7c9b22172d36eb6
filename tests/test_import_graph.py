"""The import graph of voc's code: one import package, no circles, and each subpackage builds only on the
ones below it (``models`` at the bottom). Read from the source with ``ast``, every import counted (inside
functions and ``TYPE_CHECKING`` blocks too), so a lazy import cannot hide an upward or sideways dependency.

Entry modules (``cli.py``, ``__main__.py`` and scripts run with ``python -m``) compose the libraries: they may
import any subpackage's library modules, and no other subpackage imports them."""

from __future__ import annotations

import ast
import tomllib
from functools import cache
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

# Each subpackage and those it builds on. Library modules import only these and their own subpackage.
BUILDS_ON: dict[str, set[str]] = {
    "models": set(),
    "training": {"models"},
    "evaluation": {"models"},
    "serving": {"models"},
    "batch": {"models"},
    "research": {"models"},
    "tools": {"models", "serving", "batch"},
}


@cache
def package_dirs() -> dict[str, Path]:
    """voc's subpackages (``voc.models``, ...) and the folders the build maps them from (pyproject.toml)."""
    mapping = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]["package-dir"]
    return {name: ROOT / folder for name, folder in mapping.items()}


@cache
def modules() -> dict[str, Path]:
    found = {}
    for package, folder in package_dirs().items():
        for file in folder.rglob("*.py"):
            parts = file.relative_to(folder).with_suffix("").parts
            name = ".".join((package, *parts))
            found[name.removesuffix(".__init__")] = file
    return found


def imports(name: str, file: Path) -> set[str]:
    """The absolute names ``file`` imports (``from x import y`` gives both x and x.y; relative ones resolved)."""
    package = name if file.name == "__init__.py" else name.rpartition(".")[0]
    names = set()
    for node in ast.walk(ast.parse(file.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            names |= {a.name for a in node.names}
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                parent = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join([*parent, base] if base else parent)
            names |= {base} | {f"{base}.{a.name}" for a in node.names}
    return names


@cache
def graph() -> dict[str, set[str]]:
    """module -> the voc modules it imports (a ``from package import module`` counts as the module)."""
    mods = modules()
    return {name: {m for m in imports(name, file) if m in mods and m != name} for name, file in mods.items()}


def subpackage(module: str) -> str | None:
    """``models`` for ``voc.models.predictor``; None for the modules of ``voc`` itself (the top)."""
    parts = module.split(".")
    return parts[1] if len(parts) > 1 and f"voc.{parts[1]}" in package_dirs() else None


def is_entry(module: str) -> bool:
    last = module.rpartition(".")[2]
    file = modules()[module]
    return last in ("cli", "__main__") or 'if __name__ == "__main__":' in file.read_text(encoding="utf-8")


def test_every_subpackage_has_a_place_in_the_layers():
    assert {name.partition(".")[2] for name in package_dirs() if "." in name} <= set(BUILDS_ON)


def test_code_imports_voc_only_by_its_namespaced_name():
    top = {folder.name for folder in package_dirs().values()} - {"voc"}
    bare = sorted(
        f"{name} imports {m}"
        for name, file in modules().items()
        for m in imports(name, file)
        if m.partition(".")[0] in top
    )
    assert not bare, "import voc.<package>, never the bare folder name:\n" + "\n".join(bare)


def test_no_circles():
    edges = graph()
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    circles = []

    def visit(v: str) -> None:  # Tarjan's strongly connected components
        index[v] = low[v] = len(index)
        stack.append(v)
        for w in edges[v]:
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while (w := stack.pop()) != v:
                component.append(w)
            if component:
                circles.append(sorted([v, *component]))

    for v in sorted(edges):
        if v not in index:
            visit(v)
    assert not circles, f"modules that import each other: {circles}"


def test_no_upward_or_sideways_imports():
    wrong = []
    for module, targets in sorted(graph().items()):
        home = subpackage(module)
        for target in sorted(targets):
            there = subpackage(target)
            if home is None or there in (None, home):
                continue  # voc/__init__ (the command line and the API) sits on top; a package uses itself
            if is_entry(target):
                wrong.append(f"{module} -> {target} (an entry module of another subpackage)")
            elif not is_entry(module) and there not in BUILDS_ON[home]:
                wrong.append(f"{module} -> {target} ({home} builds on {sorted(BUILDS_ON[home]) or 'nothing'})")
    assert not wrong, "\n".join(wrong)
