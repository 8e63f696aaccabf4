"""Quality measurement: perplexity, and divergence from a reference model."""

from litecomplete.eval.perplexity import EvalConfig, EvalResult, evaluate

__all__ = ["EvalConfig", "EvalResult", "evaluate"]
