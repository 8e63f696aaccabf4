"""The package's picture: which of litecomplete's packages import which, read from the code.

    python scripts/import_graph.py     # prints the Mermaid block DEVELOPERS.md holds

An arrow A --> B means some module of A imports one of B (at any depth: imports
inside functions count). ``tests/test_package_imports.py`` holds the picture in
DEVELOPERS.md to this one and the graph to having no cycle.
"""

from __future__ import annotations

import ast
from collections import defaultdict
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[1] / "src" / "litecomplete"


def _unit(module: str) -> str:
    """``litecomplete.models.spec`` -> ``models``; a top-level module names itself."""
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else parts[0]


def _imported(node: ast.AST) -> list[str]:
    if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
        if node.module == "litecomplete":
            return [f"litecomplete.{alias.name}" for alias in node.names]
        return [node.module] if node.module.startswith("litecomplete.") else []
    if isinstance(node, ast.Import):
        return [a.name for a in node.names if a.name.startswith("litecomplete.")]
    return []


def package_imports(package: Path = PACKAGE) -> dict[str, set[str]]:
    """``{unit: units it imports}`` over the package's first-level packages and modules."""
    edges: dict[str, set[str]] = defaultdict(set)
    for path in sorted(package.rglob("*.py")):
        parts = path.relative_to(package.parent).with_suffix("").parts
        source = _unit(".".join(parts))
        for node in ast.walk(ast.parse(path.read_text("utf-8"))):
            for target in map(_unit, _imported(node)):
                if target != source:
                    edges[source].add(target)
    return dict(edges)


def cycles(edges: dict[str, set[str]]) -> list[tuple[str, str]]:
    """Arrows A --> B where B also reaches A."""

    def reach(start: str) -> set[str]:
        seen: set[str] = set()
        stack = [start]
        while stack:
            for nxt in edges.get(stack.pop(), ()):
                if nxt not in seen:
                    seen.add(nxt)
                    stack.append(nxt)
        return seen

    return [(a, b) for a in sorted(edges) for b in sorted(edges[a]) if a in reach(b)]


# Modules every package may use; left out of the picture so the arrows that matter show.
COMMON = {
    "errors",
    "choices",
    "atomic",
    "paths",
    "progress",
    "resources",
    "process_memory",
    "__main__",
}


def mermaid(edges: dict[str, set[str]]) -> str:
    lines = ["```mermaid", "graph LR"]
    for source in sorted(edges):
        if source in COMMON:
            continue
        lines += [f"    {source} --> {t}" for t in sorted(edges[source] - COMMON)]
    return "\n".join([*lines, "```"])


if __name__ == "__main__":
    print(mermaid(package_imports()))
