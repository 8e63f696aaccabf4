"""Running converted models.

``FastModel`` runs the fast format on ai-edge-litert with numpy and
``tokenizers``: no TensorFlow. ``AppModel`` runs the seed's single-graph app
format; it needs TensorFlow's Flex delegate and the TensorFlow Text custom ops,
so TensorFlow is imported when such a model is loaded, never at import.
``LitertLmModel`` runs a ``.litertlm`` bundle in LiteRT-LM's own engine.
"""

from litecomplete.runtime.app_model import AppModel
from litecomplete.runtime.fast_model import FastModel
from litecomplete.runtime.generation import Completion, FinishReason, GenerationConfig, Piece
from litecomplete.runtime.litertlm_model import LitertLmModel
from litecomplete.runtime.model_files import load_model
from litecomplete.runtime.prompt import validate_prompt
from litecomplete.runtime.sampling import SamplingConfig
from litecomplete.runtime.speculative import Speculation, SpeculationMode

__all__ = [
    "AppModel",
    "Completion",
    "FastModel",
    "FinishReason",
    "GenerationConfig",
    "LitertLmModel",
    "Piece",
    "SamplingConfig",
    "Speculation",
    "SpeculationMode",
    "load_model",
    "validate_prompt",
]
