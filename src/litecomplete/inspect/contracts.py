"""Which file contract a model satisfies (see ``litecomplete.contract``)."""

from __future__ import annotations

from typing import Any

from litecomplete import contract as c
from litecomplete.contract import ModelFormat
from litecomplete.errors import ConfigError
from litecomplete.inspect.model_info import ModelInfo, SignatureInfo, TensorInfo, version_tuple


def app_contract_problems(info: ModelInfo) -> list[str]:
    """Reasons ``info`` is not an app-format model; empty when it is one."""
    sig = info.signatures.get(c.APP_SIGNATURE)
    if sig is None:
        found = ", ".join(info.signatures) or "none"
        return [f"no {c.APP_SIGNATURE!r} signature (signatures: {found})"]
    problems = []
    inp = sig.inputs.get(c.APP_INPUT)
    if list(sig.inputs) != [c.APP_INPUT] or inp is None:
        problems.append(f"inputs are {list(sig.inputs)}, expected [{c.APP_INPUT!r}]")
    elif inp.dtype != "STRING" or inp.shape != ():
        problems.append(f"input {c.APP_INPUT!r} is {inp.dtype}{list(inp.shape)}, expected STRING[]")
    out = sig.outputs.get(c.APP_OUTPUT)
    if list(sig.outputs) != [c.APP_OUTPUT] or out is None:
        problems.append(f"outputs are {list(sig.outputs)}, expected [{c.APP_OUTPUT!r}]")
    elif out.dtype != "STRING":
        problems.append(f"output {c.APP_OUTPUT!r} is {out.dtype}, expected STRING")
    return problems


def runs_on_app_runtime(info: ModelInfo) -> bool | None:
    """Whether the seed app's TF Lite has every builtin op version ``info`` uses.

    None when the file does not say (no ``min_runtime_version`` from the converter).
    """
    if info.min_runtime_version is None:
        return None
    return version_tuple(info.min_runtime_version) <= version_tuple(c.APP_RUNTIME_VERSION)


def _expect(
    problems: list[str],
    sig: SignatureInfo,
    io: dict[str, TensorInfo],
    name: str,
    dtype: str,
    shape: tuple[int, ...],
) -> None:
    tensor = io.get(name)
    if tensor is None:
        problems.append(f"signature {sig.key!r} has no tensor {name!r}")
    elif tensor.dtype != dtype or tensor.shape != shape:
        problems.append(
            f"{sig.key}.{name} is {tensor.dtype}{list(tensor.shape)}, expected {dtype}{list(shape)}"
        )


def _fast_signature_problems(
    sig: SignatureInfo, t: int, manifest: dict[str, Any], logits: c.Logits = c.Logits.LAST
) -> list[str]:
    d = manifest["decoder"]  # fields checked by fast_manifest_problems
    layers, kv, dh = d["num_layers"], d["num_kv_heads"], d["head_dim"]
    max_length, vocab = manifest["max_length"], d["vocabulary_size"]
    problems: list[str] = []
    _expect(problems, sig, sig.inputs, c.TOKENS, "INT32", (1, t))
    _expect(problems, sig, sig.inputs, c.INPUT_POS, "INT32", (t,))
    if logits is c.Logits.NONE:
        if c.LOGITS in sig.outputs:
            problems.append(f"signature {sig.key!r} returns {c.LOGITS!r}, expected caches only")
    else:
        rows = (t, vocab) if logits is c.Logits.EVERY_ROW else (1, 1, vocab)
        _expect(problems, sig, sig.outputs, c.LOGITS, "FLOAT32", rows)
    for i in range(layers):
        k_shape, v_shape = c.k_cache_shape(kv, dh, max_length), c.v_cache_shape(kv, dh, max_length)
        for io in (sig.inputs, sig.outputs):  # updated in place: outputs are the inputs
            _expect(problems, sig, io, c.k_cache_name(i), "FLOAT32", k_shape)
            _expect(problems, sig, io, c.v_cache_name(i), "FLOAT32", v_shape)
    expected_inputs = 2 * layers + 2
    if len(sig.inputs) != expected_inputs:
        problems.append(
            f"signature {sig.key!r} has {len(sig.inputs)} inputs, the manifest implies "
            f"{expected_inputs} ({layers} layers)"
        )
    return problems


def fast_contract_problems(info: ModelInfo) -> list[str]:
    """Reasons ``info`` is not a valid fast-format model; empty when it is one."""
    if c.DECODE_SIGNATURE not in info.signatures:
        found = ", ".join(info.signatures) or "none"
        return [f"no {c.DECODE_SIGNATURE!r} signature (signatures: {found})"]
    manifest = info.manifest
    if manifest.get("format") != ModelFormat.FAST.value:
        return ["no fast-format manifest in the file's metadata"]
    if info.flex_ops or info.custom_ops:
        return [f"uses non-builtin ops: {', '.join(sorted(info.flex_ops | info.custom_ops))}"]
    if not info.tokenizer_json:
        return ["no tokenizer in the file's metadata"]
    if manifest.get("contract_version") != c.FAST_CONTRACT_VERSION:
        return [
            f"written for fast contract {manifest.get('contract_version', 1)}; this "
            f"litecomplete runs contract {c.FAST_CONTRACT_VERSION}: convert the model again"
        ]
    try:
        c.FastManifest.from_json(manifest)
    except (ValueError, ConfigError) as e:
        return [f"manifest is malformed: {e}"]
    problems = _fast_signature_problems(info.signatures[c.DECODE_SIGNATURE], 1, manifest)
    # (what the manifest lists, its signature, the tokens it takes, the logits it returns)
    last, every, none = c.Logits.LAST, c.Logits.EVERY_ROW, c.Logits.NONE
    listed = [(f"bucket {b}", c.prefill_signature(b), b, last) for b in manifest["buckets"]]
    listed += [(f"fill {t}", c.fill_signature(t), t, none) for t in manifest.get("fills", [])]
    listed += [
        (f"verify length {t}", c.verify_signature(t), t, every) for t in manifest.get("verify", [])
    ]
    listed += [
        (f"decode span {s}", c.decode_signature(s), 1, last)
        for s in manifest.get("decode_spans", [])
    ]
    for label, key, length, logits in listed:
        sig = info.signatures.get(key)
        if sig is None:
            problems.append(f"manifest lists {label} but there is no {key!r} signature")
        else:
            problems += _fast_signature_problems(sig, length, manifest, logits)
    return [f"manifest does not match the model: {p}" for p in problems]


def check_contract(info: ModelInfo) -> ModelFormat | None:
    """The contract ``info`` satisfies, or None."""
    if not app_contract_problems(info):
        return ModelFormat.APP
    if not fast_contract_problems(info):
        return ModelFormat.FAST
    return None


def contract_problems(info: ModelInfo) -> str:
    """Why ``info`` fits no contract: the problems of the contract its signatures claim,
    or one clause per contract when they claim neither."""
    if c.DECODE_SIGNATURE in info.signatures:
        return f"a fast-format file whose {'; '.join(fast_contract_problems(info))}"
    if c.APP_SIGNATURE in info.signatures:
        return f"an app-format file whose {'; '.join(app_contract_problems(info))}"
    app = "; ".join(app_contract_problems(info))
    fast = "; ".join(fast_contract_problems(info))
    return f"not app format ({app}); not fast format ({fast})"
