"""The import graph of ``src/byod`` has no cycle and no arrow running back up a layer.

Every import counts, the lazy ones inside functions too: a lazy import still makes the lower
package depend on the higher one. A package may import its own layer and those below it.
"""

import ast
from pathlib import Path

SRC = Path(__file__).resolve().parents[1] / "src" / "byod"

# Lowest first. Same-layer imports are allowed only where there is no cycle (checked below).
LAYERS = [
    {"__init__", "errors", "atomic", "vectors", "packages", "progress", "layout", "tabular"},
    {"data", "assets", "losses"},
    {"encoders"},
    {"pretrain", "features"},
    {"transfer", "labels", "report"},
    {"textlab", "pipeline", "tune", "distributed"},
    {"serve", "demo"},
    {"studio"},
    {"cli"},
]
LEVEL = {name: i for i, layer in enumerate(LAYERS) for name in layer}


def _package(module: str) -> str:
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else "__init__"


def _graph() -> dict[str, set[str]]:
    graph: dict[str, set[str]] = {}
    for path in SRC.rglob("*.py"):
        rel = path.relative_to(SRC.parent).with_suffix("")
        me = _package(".".join(rel.parts))
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            names = []
            if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                names = [node.module]
            elif isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            for name in names:
                if name == "byod" or name.startswith("byod."):
                    graph.setdefault(me, set()).add(_package(name))
    return graph


def test_every_package_has_a_layer():
    modules = {p.stem for p in SRC.glob("*.py")}
    modules |= {d.name for d in SRC.iterdir() if (d / "__init__.py").exists()}
    unplaced = modules - set(LEVEL)
    assert not unplaced, f"give these packages a layer in LAYERS: {sorted(unplaced)}"


def test_no_import_runs_up_a_layer():
    upward = [
        f"{src} (layer {LEVEL[src]}) imports {dst} (layer {LEVEL[dst]})"
        for src, targets in _graph().items()
        for dst in targets
        if LEVEL[dst] > LEVEL[src]
    ]
    assert not upward, "\n".join(upward)


def test_no_cycle_between_packages():
    graph = {k: v - {k} for k, v in _graph().items()}
    seen: dict[str, int] = {}  # 1 = on the current path, 2 = done

    def visit(node: str, path: list[str]) -> list[str] | None:
        seen[node] = 1
        for nxt in sorted(graph.get(node, ())):
            if seen.get(nxt) == 1:
                return [*path, node, nxt]
            if nxt not in seen and (cycle := visit(nxt, [*path, node])):
                return cycle
        seen[node] = 2
        return None

    for start in sorted(graph):
        if start not in seen and (cycle := visit(start, [])):
            raise AssertionError(" -> ".join(cycle))
