"""The Llama family in KerasHub: GGUF import and its tokenizer. Imports Keras when used."""
