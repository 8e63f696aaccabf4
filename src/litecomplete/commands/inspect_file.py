"""``litecomplete inspect``: what a .tflite file holds and which contract it fits."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from litecomplete.commands.common import emit_json, mib
from litecomplete.contract import APP_RUNTIME_VERSION, ModelFormat
from litecomplete.errors import ModelFileError
from litecomplete.inspect.contracts import runs_on_app_runtime
from litecomplete.inspect.litertlm_file import is_litertlm, read_litertlm_info
from litecomplete.inspect.model_info import ModelInfo

NAME = "inspect"
HELP = "Show what a .tflite file or a .litertlm bundle holds and which contract it fits."
EXAMPLE = "litecomplete inspect autocomplete.tflite"


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("file", help=".tflite file or .litertlm bundle")
    p.add_argument("--json", action="store_true", help="print the result as JSON")


def runtime_line(info: ModelInfo) -> str:
    if info.min_runtime_version is None:
        return "unknown (the file has no min_runtime_version from the TFLite converter)"
    return f"{info.min_runtime_version} (every builtin op version it uses; Flex ops aside)"


def run(args: argparse.Namespace) -> int:
    from litecomplete.inspect import check_contract, read_model_info
    from litecomplete.inspect.contracts import contract_problems

    path = Path(args.file)
    if is_litertlm(path):
        return _inspect_litertlm(path, args.json)
    info = read_model_info(path)
    contract = check_contract(info)
    if args.json:
        emit_json(
            {
                "path": str(path),
                "size_bytes": info.size_bytes,
                "contract": contract.value if contract else None,
                "op_set": info.op_set,
                "quantization": info.quantization,
                "signatures": {
                    k: {
                        "inputs": {n: [t.dtype, list(t.shape)] for n, t in s.inputs.items()},
                        "outputs": {n: [t.dtype, list(t.shape)] for n, t in s.outputs.items()},
                    }
                    for k, s in info.signatures.items()
                },
                "builtin_ops": dict(info.builtin_ops),
                "flex_ops": dict(info.flex_ops),
                "custom_ops": dict(info.custom_ops),
                "weight_bytes_by_dtype": dict(info.weight_bytes_by_dtype),
                "manifest": info.manifest,
                "min_runtime_version": info.min_runtime_version,
                "runs_on_seed_app_runtime": runs_on_app_runtime(info),
            }
        )
    else:
        print(f"file          {path}")
        print(f"size          {mib(info.size_bytes)} ({info.size_bytes} bytes)")
        print(f"contract      {contract.value if contract else 'none'}")
        print(f"op set        {info.op_set}")
        print(f"quantization  {info.quantization}")
        weights = ", ".join(f"{k} {mib(v)}" for k, v in info.weight_bytes_by_dtype.most_common())
        print(f"weights       {weights or 'none'}")
        for key, sig in info.signatures.items():
            print(f"signature     {key}")
            for name, t in sig.inputs.items():
                print(f"  input       {name}: {t.dtype}{list(t.shape)}")
            for name, t in sig.outputs.items():
                print(f"  output      {name}: {t.dtype}{list(t.shape)}")
        print(f"builtin ops   {', '.join(sorted(info.builtin_ops)) or 'none'}")
        if info.flex_ops:
            print(f"flex ops      {', '.join(sorted(info.flex_ops))}")
        if info.custom_ops:
            print(f"custom ops    {', '.join(sorted(info.custom_ops))}")
        if info.manifest:
            print(f"manifest      {json.dumps(info.manifest, sort_keys=True)}")
        print(f"oldest TFLite {runtime_line(info)}")
        if contract is ModelFormat.APP and runs_on_app_runtime(info) is False:
            print(
                f"warning: needs TensorFlow Lite {info.min_runtime_version}; the seed app "
                f"ships {APP_RUNTIME_VERSION} and cannot load it",
                file=sys.stderr,
            )
    if contract is None:
        raise ModelFileError(f"{path} fits no known contract: {contract_problems(info)}")
    return 0


def _inspect_litertlm(path: Path, as_json: bool) -> int:
    """Print a LiteRT-LM bundle's version, sections and metadata."""
    info = read_litertlm_info(path)
    if as_json:
        emit_json(
            {
                "path": str(path),
                "size_bytes": info.size_bytes,
                "contract": "litertlm",
                "version": ".".join(map(str, info.version)),
                "system_metadata": info.system_metadata,
                "sections": [
                    {"type": s.kind, "size_bytes": s.size_bytes, "metadata": s.items}
                    for s in info.sections
                ],
                "llm_metadata": info.llm_metadata,
                "manifest": info.manifest,
            }
        )
        return 0
    print(f"file          {path}")
    print(f"size          {mib(info.size_bytes)} ({info.size_bytes} bytes)")
    print("contract      litertlm (a LiteRT-LM bundle)")
    print(f"version       {'.'.join(map(str, info.version))}")
    for key, value in info.system_metadata.items():
        print(f"system        {key}: {value}")
    for section in info.sections:
        items = ", ".join(f"{k}={v}" for k, v in section.items.items())
        described = f" ({items})" if items else ""
        print(f"section       {section.kind}: {mib(section.size_bytes)}{described}")
    print(f"llm metadata  {json.dumps(info.llm_metadata, sort_keys=True)}")
    if info.manifest:
        print(f"manifest      {json.dumps(info.manifest, sort_keys=True)}")
    return 0
