"""Running converted models.

``AppModel`` runs the seed's single-graph app format; it needs TensorFlow's
Flex delegate and the TensorFlow Text custom ops, so TensorFlow is imported
when a model is loaded, never when this package is imported.
"""

from litecomplete.runtime.app_model import AppModel
from litecomplete.runtime.prompt import validate_prompt

__all__ = ["AppModel", "validate_prompt"]
