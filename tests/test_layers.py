"""The package's layout keeps its shape: imports run one way, models -> forms -> services -> web
-> routes, with the core (settings, database, errors, translations) below them all and the
application's entry points above; and no two modules import each other, directly or round about.
"""

import ast
from pathlib import Path

import pytest

APP = Path(__file__).resolve().parents[1] / "app"

# The lowest layer a module may import from is any layer at or below its own.
LAYERS = {
    "app.config": 0,
    "app.errors": 0,
    "app.i18n": 0,
    "app.db": 0,
    "app.models": 1,
    "app.forms": 2,
    "app.services": 3,
    "app.web": 4,
    "app.routes": 5,
    "app.main": 6,
    "app.process": 6,
    "app.serving": 6,
    "app.migrate": 6,
    "app.backup": 6,
    "app.__main__": 7,
}


def _module_name(path: Path) -> str:
    parts = path.relative_to(APP.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _layer(module: str) -> int | None:
    for prefix in sorted(LAYERS, key=len, reverse=True):
        if module == prefix or module.startswith(prefix + "."):
            return LAYERS[prefix]
    return None


def _imports(tree: ast.AST, *, top_level_only: bool) -> set[str]:
    """The app modules a module imports (`from app.x import y` counts y when it is a module)."""
    nodes = tree.body if top_level_only and isinstance(tree, ast.Module) else ast.walk(tree)
    found: set[str] = set()
    for node in nodes:
        if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("app"):
            for alias in node.names:
                candidate = f"{node.module}.{alias.name}"
                is_module = (APP.parent / (candidate.replace(".", "/") + ".py")).exists() or (
                    APP.parent / candidate.replace(".", "/") / "__init__.py"
                ).exists()
                found.add(candidate if is_module else node.module)
        elif isinstance(node, ast.Import):
            found.update(a.name for a in node.names if a.name.startswith("app"))
    return found


def _modules() -> dict[str, ast.Module]:
    return {
        _module_name(path): ast.parse(path.read_text(), str(path))
        for path in sorted(APP.rglob("*.py"))
    }


def test_every_module_has_a_layer() -> None:
    assert [name for name in _modules() if name != "app" and _layer(name) is None] == []


def test_imports_run_one_way() -> None:
    wrong = []
    for name, tree in _modules().items():
        own = _layer(name)
        if own is None:
            continue
        for imported in _imports(tree, top_level_only=False):
            layer = _layer(imported)
            if layer is not None and layer > own:
                wrong.append(f"{name} imports {imported}")
    assert wrong == []


def test_no_import_cycles() -> None:
    modules = _modules()
    graph = {
        name: {m for m in _imports(tree, top_level_only=True) if m in modules and m != name}
        for name, tree in modules.items()
    }
    # Tarjan's strongly connected components: any component of two or more is a cycle.
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    cycles: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for nxt in graph[node]:
            if nxt not in index:
                visit(nxt)
                low[node] = min(low[node], low[nxt])
            elif nxt in on_stack:
                low[node] = min(low[node], index[nxt])
        if low[node] == index[node]:
            component = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                component.append(member)
                if member == node:
                    break
            if len(component) > 1:
                cycles.append(sorted(component))

    for node in graph:
        if node not in index:
            visit(node)
    assert cycles == []


@pytest.mark.parametrize(
    ("importer", "imported", "allowed"),
    [("app.services.files", "app.web.body", False), ("app.web.deps", "app.services", True)],
)
def test_layer_rule_reads_as_documented(importer: str, imported: str, allowed: bool) -> None:
    importer_layer = _layer(importer)
    imported_layer = _layer(imported)
    assert importer_layer is not None and imported_layer is not None
    assert (imported_layer <= importer_layer) is allowed
