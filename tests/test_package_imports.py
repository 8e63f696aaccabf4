"""The package's import picture: drawn from the code, in DEVELOPERS.md, with no cycle."""

from __future__ import annotations

import importlib.util
from pathlib import Path
from types import ModuleType

ROOT = Path(__file__).resolve().parents[1]


def _import_graph() -> ModuleType:
    spec = importlib.util.spec_from_file_location("import_graph", ROOT / "scripts/import_graph.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_packages_import_without_cycles_and_models_never_imports_convert() -> None:
    graph = _import_graph()
    edges = graph.package_imports()
    assert "convert" in edges and "models" in edges  # the graph was read at all
    assert "convert" not in edges["models"]
    assert graph.cycles(edges) == []


def test_the_picture_in_developers_md_is_the_code_s() -> None:
    graph = _import_graph()
    assert graph.mermaid(graph.package_imports()) in (ROOT / "DEVELOPERS.md").read_text("utf-8")


def test_a_cycle_is_found() -> None:
    assert _import_graph().cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [
        ("a", "b"),
        ("b", "c"),
        ("c", "a"),
    ]
