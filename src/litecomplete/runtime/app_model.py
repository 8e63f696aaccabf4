"""Run an app-format model: the seed's ``run_inference``, as a class."""

from __future__ import annotations

import warnings
from contextlib import nullcontext
from pathlib import Path
from typing import Any

import numpy as np

from litecomplete.contract import APP_INPUT, APP_OUTPUT, APP_SIGNATURE
from litecomplete.errors import ModelFileError, ModelRunError
from litecomplete.inspect.contracts import app_contract_problems
from litecomplete.inspect.model_info import ModelInfo, read_model_info
from litecomplete.native_output import quiet_native_setup
from litecomplete.runtime.prompt import validate_prompt


class AppModel:
    """A loaded ``serving_default: prompt -> output_0`` model.

    >>> model = AppModel.load("autocomplete.tflite")   # doctest: +SKIP
    >>> model.complete("I'm enjoying a")               # doctest: +SKIP
    ' cup of coffee ...'
    """

    def __init__(self, path: Path, info: ModelInfo, runner: Any) -> None:
        self.path = path
        self.info = info
        self._runner = runner
        self._ran = False

    @classmethod
    def load(cls, path: str | Path, num_threads: int | None = None) -> AppModel:
        """Load ``path`` with the Flex delegate and TF Text custom ops registered.

        Raises:
            ModelFileError: missing, not TFLite, or not the app contract.
        """
        path = Path(path)
        info = read_model_info(path)
        problems = app_contract_problems(info)
        if problems:
            raise ModelFileError(f"{path} is not an app-format model: {'; '.join(problems)}")
        with quiet_native_setup():
            return cls(path, info, _signature_runner(path, num_threads))

    def generate(self, prompt: str | bytes) -> bytes:
        """Raw ``output_0``: the prompt's bytes followed by the completion's."""
        data = validate_prompt(prompt)
        # The first run sets the delegates up, and says so.
        with quiet_native_setup() if not self._ran else nullcontext():
            # A bytes array (dtype S), not str: numpy stores str as UTF-32.
            try:
                outputs = self._runner(**{APP_INPUT: np.array(data)})
            except RuntimeError as e:
                raise ModelRunError(f"{self.path} failed to run: {e}") from None
        self._ran = True
        return bytes(np.asarray(outputs[APP_OUTPUT]).item())

    def complete(self, prompt: str | bytes) -> str:
        """The completion of ``prompt``, without the prompt.

        Raises:
            PromptError: empty prompt or invalid UTF-8.
        """
        data = validate_prompt(prompt)
        output = self.generate(data)
        completion = output[len(data) :] if output.startswith(data) else output
        return completion.decode("utf-8", errors="replace")


def _signature_runner(path: Path, num_threads: int | None) -> Any:
    """The app signature's runner, with the Flex delegate and TF Text's custom ops."""
    import tensorflow_text as tf_text
    from tensorflow.lite.python import interpreter

    # tf.lite's interpreter is the one that carries the Flex delegate the app
    # format needs; its deprecation notice (use ai-edge-litert) does not apply.
    warnings.filterwarnings("ignore", message=r"\s*Warning: tf.lite.Interpreter is deprecated")
    try:
        interp = interpreter.InterpreterWithCustomOps(
            model_path=str(path),
            custom_op_registerers=tf_text.tflite_registrar.SELECT_TFTEXT_OPS,
            num_threads=num_threads,
        )
        return interp.get_signature_runner(APP_SIGNATURE)
    except (RuntimeError, ValueError) as e:
        raise ModelFileError(f"cannot load {path}: {e}") from None
