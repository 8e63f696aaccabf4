"""GGUF (llama.cpp's format): reading, the tokenizer in its metadata, writing."""
