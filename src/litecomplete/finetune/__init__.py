"""Fine-tuning: LoRA adapters trained on a user's text, merged into a KerasHub preset.

``finetune(FinetuneConfig(texts=(Path("notes.txt"),), out=Path("mine")))`` writes the
preset ``convert`` takes in every format. Importing this package does not import
TensorFlow; running it does.
"""

from litecomplete.finetune.config import FinetuneConfig, FinetuneResult
from litecomplete.finetune.run import finetune

__all__ = ["FinetuneConfig", "FinetuneResult", "finetune"]
