"""Imports flow one way: every import under src/wakebuilder goes DOWN the layer order of
docs/architecture.md, and no two packages import each other (directly or round a circle).

Every ``import`` counts, including those inside functions and ``TYPE_CHECKING`` blocks.
"""

from __future__ import annotations

import ast
from collections import defaultdict
from pathlib import Path

SRC = Path(__file__).resolve().parents[1] / "src" / "wakebuilder"

LAYERS: list[set[str]] = [
    {"wakebuilder", "errors", "processes"},  # the package root (__version__), the error
    # hierarchy, child-process helpers
    {"audio", "augment", "synthesis", "features", "wakeword"},
    {"detection"},
    {"training"},
    {"corpus", "negstore"},
    {"modelstore", "capture"},
    {"layout"},  # the data layout: a paths type for the pipeline, defined for layer 7
    {"pipeline", "improve"},
    {"settings", "jobs"},
    {"api", "cli", "wyoming_server"},
]
"""Bottom first; a package may import its own layer's packages and those below."""
RANK = {pkg: i for i, layer in enumerate(LAYERS) for pkg in layer}
NOT_CODE = {"web"}  # static files only


def _package_of(rel: Path) -> str:
    if len(rel.parts) == 1:
        return "wakebuilder" if rel.stem == "__init__" else rel.stem
    return rel.parts[0]


def _targets(node: ast.AST, module: list[str], is_pkg: bool) -> list[str]:
    """Dotted names a node imports (relative imports resolved)."""
    if isinstance(node, ast.Import):
        return [a.name for a in node.names]
    if not isinstance(node, ast.ImportFrom):
        return []
    if node.level:
        base = module if is_pkg else module[:-1]
        base = base[: len(base) - (node.level - 1)]
        name = ".".join([*base, *([node.module] if node.module else [])])
    else:
        name = node.module or ""
    if name == "wakebuilder":  # from wakebuilder import x: x may be a package or a name
        return [f"wakebuilder.{a.name}" for a in node.names]
    return [name]


def _top_level_names() -> set[str]:
    return {p.stem for p in SRC.glob("*.py") if p.stem != "__init__"} | {
        p.name for p in SRC.iterdir() if p.is_dir() and (p / "__init__.py").exists()}


def import_edges() -> dict[str, dict[str, set[str]]]:
    """``{package: {imported package: {files}}}`` for every import between packages."""
    tops = _top_level_names()
    edges: dict[str, dict[str, set[str]]] = defaultdict(lambda: defaultdict(set))
    for path in sorted(SRC.rglob("*.py")):
        rel = path.relative_to(SRC)
        pkg = _package_of(rel)
        module = ["wakebuilder", *rel.with_suffix("").parts]
        is_pkg = module[-1] == "__init__"
        if is_pkg:
            module = module[:-1]
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            for name in _targets(node, module, is_pkg):
                parts = name.split(".")
                if parts[0] != "wakebuilder":
                    continue
                dep = parts[1] if len(parts) > 1 and parts[1] in tops else "wakebuilder"
                if dep != pkg:
                    edges[pkg][dep].add(str(rel))
    return edges


def test_every_package_has_a_layer() -> None:
    unknown = sorted((_top_level_names() - NOT_CODE) - set(RANK))
    assert not unknown, f"packages without a layer in tests/test_architecture.py: {unknown}"


def test_no_upward_import() -> None:
    upward = [f"{pkg} (layer {RANK[pkg]}) imports {dep} (layer {RANK[dep]}) in "
              + ", ".join(sorted(files))
              for pkg, deps in sorted(import_edges().items()) if pkg in RANK
              for dep, files in sorted(deps.items()) if dep in RANK and RANK[dep] > RANK[pkg]]
    assert not upward, "upward imports:\n" + "\n".join(upward)


def test_no_cycle_between_packages() -> None:
    edges = import_edges()
    graph = {pkg: set(deps) for pkg, deps in edges.items()}
    cycles: list[list[str]] = []
    state: dict[str, int] = {}  # 1 on the path, 2 done
    path: list[str] = []

    def visit(node: str) -> None:
        state[node] = 1
        path.append(node)
        for nxt in sorted(graph.get(node, ())):
            if state.get(nxt) == 1:
                cycles.append([*path[path.index(nxt):], nxt])
            elif nxt not in state:
                visit(nxt)
        path.pop()
        state[node] = 2

    for node in sorted(graph):
        if node not in state:
            visit(node)
    described = [" -> ".join(c) + "  (" + "; ".join(
        f"{a}->{b}: {sorted(edges[a][b])[0]}" for a, b in zip(c, c[1:], strict=False)) + ")"
        for c in cycles]
    assert not cycles, "import cycles between packages:\n" + "\n".join(described)


def test_the_checker_sees_imports() -> None:
    """Guards the parser itself: known real edges are found."""
    edges = import_edges()
    assert "audio" in edges["detection"]
    assert "errors" in edges["audio"]
