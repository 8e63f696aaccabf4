"""Read a .tflite file without running it: signatures, tensors, ops, quantization, contract."""

from litecomplete.inspect.contracts import check_contract
from litecomplete.inspect.model_info import ModelInfo, read_model_info

__all__ = ["ModelInfo", "check_contract", "read_model_info"]
