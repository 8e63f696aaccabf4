"""Small modules and functions (DEVELOPERS.md): none in the package over its limit."""

from __future__ import annotations

import ast
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[1] / "src" / "litecomplete"
MODULE_LINES = 400
FUNCTION_LINES = 80


def _modules() -> list[Path]:
    modules = sorted(PACKAGE.rglob("*.py"))
    assert len(modules) > 50  # the package was found
    return modules


def _lines(path: Path) -> int:
    return len(path.read_text("utf-8").splitlines())


def test_no_module_is_over_its_limit() -> None:
    over = {str(p.relative_to(PACKAGE)): n for p in _modules() if (n := _lines(p)) > MODULE_LINES}
    assert over == {}


def test_no_function_is_over_its_limit() -> None:
    over = {}
    for path in _modules():
        for node in ast.walk(ast.parse(path.read_text("utf-8"))):
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
                length = (node.end_lineno or node.lineno) - node.lineno + 1
                if length > FUNCTION_LINES:
                    over[f"{path.relative_to(PACKAGE)}:{node.name}"] = length
    assert over == {}
