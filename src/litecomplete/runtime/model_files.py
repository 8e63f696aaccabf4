"""Open any litecomplete model file by the contract it satisfies."""

from __future__ import annotations

from pathlib import Path

from litecomplete.contract import ModelFormat
from litecomplete.errors import ModelFileError
from litecomplete.inspect.contracts import check_contract, contract_problems
from litecomplete.inspect.litertlm_file import is_litertlm
from litecomplete.inspect.model_info import read_model_info
from litecomplete.runtime.app_model import AppModel
from litecomplete.runtime.fast_model import FastModel
from litecomplete.runtime.litertlm_model import LitertLmModel


def load_model(
    path: str | Path, num_threads: int | None = None
) -> AppModel | FastModel | LitertLmModel:
    """An ``AppModel``, a ``FastModel`` or (a ``.litertlm`` bundle) a ``LitertLmModel``.

    Raises:
        ModelFileError: missing, neither TFLite nor LiteRT-LM, or fits no contract.
    """
    path = Path(path)
    if is_litertlm(path):
        if num_threads is None:
            return LitertLmModel.load(path)
        return LitertLmModel.load(path, num_threads)
    info = read_model_info(path, ops=False)  # signatures and metadata: all a load needs
    fmt = check_contract(info)
    if fmt is ModelFormat.APP:
        return AppModel.load(path, num_threads=num_threads)
    if fmt is ModelFormat.FAST:
        if num_threads is None:
            return FastModel.load(path, info=info)
        return FastModel.load(path, num_threads, info=info)
    raise ModelFileError(f"{path} fits no known contract: {contract_problems(info)}")


def load_fast_model(path: str | Path, num_threads: int, role: str = "model") -> FastModel:
    """A ``FastModel``; ModelFileError naming ``role`` if ``path`` is any other kind of file.

    Measuring needs logits, which only the fast format returns (the app format's
    graph ends in text).
    """
    path = Path(path)
    info = read_model_info(path, ops=False)
    fmt = check_contract(info)
    if fmt is ModelFormat.APP:
        raise ModelFileError(
            f"{role} {path} is an app-format model, which returns text, not logits; "
            "convert the model with --format fast to measure it"
        )
    if fmt is not ModelFormat.FAST:
        raise ModelFileError(f"{role} {path} fits no known contract: {contract_problems(info)}")
    return FastModel.load(path, num_threads, info=info)
