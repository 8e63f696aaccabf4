"""Zero-copy access to one signature of an ai-edge-litert interpreter.

The public ``SignatureRunner`` resizes, allocates and copies every input and
output on every call: with KV caches as inputs that is megabytes per token.
``SignatureGraph`` allocates once and hands out numpy views of the subgraph's
own tensors, so the runtime writes a new cache slice in place and invokes.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from litecomplete.errors import ModelFileError, ModelRunError


class SignatureGraph:
    """Views of one signature's input and output tensors; ``invoke()`` runs it."""

    def __init__(self, interpreter: Any, key: str, label: str = "model") -> None:
        """``label`` (the file's path) names the model in errors.

        Raises:
            ModelFileError: the runtime cannot prepare the signature's graph.
        """
        self.label = label
        self._interpreter = interpreter
        self._wrapper = interpreter._interpreter
        self.key = key
        signature = interpreter._get_full_signature_list()[key]
        self.subgraph = int(self._wrapper.GetSubgraphIndexFromSignature(key))
        self._input_index: dict[str, int] = dict(signature["inputs"])
        self._output_index: dict[str, int] = dict(signature["outputs"])
        try:
            self._wrapper.AllocateTensors(self.subgraph)
        except (RuntimeError, ValueError) as e:  # a damaged graph fails to prepare
            raise ModelFileError(f"{label}: signature {key!r} cannot be prepared: {e}") from None
        # Input views stay valid while nothing resizes or re-allocates this subgraph.
        self.inputs: dict[str, np.ndarray] = {
            name: self._view(i) for name, i in self._input_index.items()
        }
        # Arena memory starts as garbage; masked cache slots must still be finite.
        for view in self.inputs.values():
            view.fill(0)

    def output(self, name: str) -> np.ndarray:
        """A view of output ``name``, valid until the next ``invoke()``."""
        return self._view(self._output_index[name])

    def _view(self, index: int) -> np.ndarray:
        return self._wrapper.tensor(self._interpreter, index, self.subgraph)

    def invoke(self) -> None:
        """Run the signature; ModelRunError if the runtime reports a failure."""
        try:
            self._wrapper.Invoke(self.subgraph)
        except RuntimeError as e:
            raise ModelRunError(f"{self.label}: signature {self.key!r} failed: {e}") from None
