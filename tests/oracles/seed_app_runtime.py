"""Run app-format files as the seed's Android app does, on TensorFlow Lite 2.12.

Runs under the TensorFlow 2.12.1 + tensorflow-text 2.12.1 environment that
``scripts/install-tflite212.sh`` makes (the app's ``tensorflow-lite:2.12.0`` and its
Select-TF-ops AAR built from TF Text 2.12), never under the project's own. What the
app does (``AutoCompleteService.kt``): ``Interpreter(model)`` with no options, then
``interpreter.run(input, outputBuffer)``: input 0 gets the prompt, output 0's raw
bytes go into ``ByteBuffer.allocateDirect(800)``.

stdin: ``{"models": {"name": "path.tflite", ...}, "prompts": ["...", ...]}``
stdout: ``{"runtime": "2.12.1", "results": {"name": {"error": "..."} or
{"outputs": [{"output": base64, "raw_bytes": n}, ...]}}}``
"""

import base64
import json
import os
import sys

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402
import tensorflow_text as tf_text  # noqa: E402
from tensorflow.lite.python import interpreter as tflite  # noqa: E402

# A string tensor's raw bytes: int32 count, then count + 1 int32 offsets, then the text.
HEADER_BYTES = 4 * (1 + 2)


def run_model(path, prompts):
    try:
        interp = tflite.InterpreterWithCustomOps(
            model_path=path,
            custom_op_registerers=tf_text.tflite_registrar.SELECT_TFTEXT_OPS,
            num_threads=1,
        )
        interp.allocate_tensors()
    except (RuntimeError, ValueError) as e:
        return {"error": f"load: {e}"}
    prompt_in = interp.get_input_details()[0]["index"]  # input 0
    output_out = interp.get_output_details()[0]["index"]  # output 0
    outputs = []
    for prompt in prompts:
        try:
            interp.set_tensor(prompt_in, np.array(prompt.encode("utf-8")))
            interp.invoke()
        except (RuntimeError, ValueError) as e:
            return {"error": f"run {prompt!r}: {e}"}
        text = bytes(interp.get_tensor(output_out).item())
        outputs.append(
            {"output": base64.b64encode(text).decode(), "raw_bytes": HEADER_BYTES + len(text)}
        )
    return {"outputs": outputs}


def main():
    request = json.load(sys.stdin)
    results = {
        name: run_model(path, request["prompts"]) for name, path in request["models"].items()
    }
    json.dump({"runtime": tf.__version__, "results": results}, sys.stdout)


if __name__ == "__main__":
    main()
