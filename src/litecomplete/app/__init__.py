"""The web app and the OpenAI-compatible API (``litecomplete serve``)."""
