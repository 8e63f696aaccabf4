"""A TFLite file's operators of one kind, read with the schema ai-edge-litert ships."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any


def operators(path: Path, builtin: int) -> Iterator[tuple[Any, Any]]:
    """(subgraph, operator) for every operator in ``path`` whose builtin code is
    ``builtin`` (``schema.BuiltinOperator``), signature by signature."""
    from ai_edge_litert import schema_py_generated as schema

    model = schema.Model.GetRootAs(path.read_bytes(), 0)
    for g in range(model.SubgraphsLength()):
        graph = model.Subgraphs(g)
        for k in range(graph.OperatorsLength()):
            op = graph.Operators(k)
            code = model.OperatorCodes(op.OpcodeIndex())
            if max(code.BuiltinCode(), code.DeprecatedBuiltinCode()) == builtin:
                yield graph, op
