"""litecomplete: on-device LLM autocomplete with TFLite models."""

__version__ = "0.1.0"
