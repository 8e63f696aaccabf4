"""Which file contract a model satisfies (see ``litecomplete.contract``)."""

from __future__ import annotations

from litecomplete.contract import APP_INPUT, APP_OUTPUT, APP_SIGNATURE, ModelFormat
from litecomplete.inspect.model_info import ModelInfo


def app_contract_problems(info: ModelInfo) -> list[str]:
    """Reasons ``info`` is not an app-format model; empty when it is one."""
    sig = info.signatures.get(APP_SIGNATURE)
    if sig is None:
        found = ", ".join(info.signatures) or "none"
        return [f"no {APP_SIGNATURE!r} signature (signatures: {found})"]
    problems = []
    inp = sig.inputs.get(APP_INPUT)
    if list(sig.inputs) != [APP_INPUT] or inp is None:
        problems.append(f"inputs are {list(sig.inputs)}, expected [{APP_INPUT!r}]")
    elif inp.dtype != "STRING" or inp.shape != ():
        problems.append(f"input {APP_INPUT!r} is {inp.dtype}{list(inp.shape)}, expected STRING[]")
    out = sig.outputs.get(APP_OUTPUT)
    if list(sig.outputs) != [APP_OUTPUT] or out is None:
        problems.append(f"outputs are {list(sig.outputs)}, expected [{APP_OUTPUT!r}]")
    elif out.dtype != "STRING":
        problems.append(f"output {APP_OUTPUT!r} is {out.dtype}, expected STRING")
    return problems


def check_contract(info: ModelInfo) -> ModelFormat | None:
    """The contract ``info`` satisfies, or None."""
    if not app_contract_problems(info):
        return ModelFormat.APP
    return None
