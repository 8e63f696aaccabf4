"""One module per command: ``NAME``, ``HELP``, ``EXAMPLE``, ``add_arguments`` and ``run``."""

from litecomplete.commands import (
    bench,
    complete,
    convert,
    evaluate,
    export_gguf,
    finetune,
    import_gguf,
    inspect_file,
    report,
    safety_eval,
    serve,
)

COMMANDS = [
    finetune,
    convert,
    complete,
    serve,
    inspect_file,
    evaluate,
    report,
    bench,
    import_gguf,
    export_gguf,
    safety_eval,
]

__all__ = ["COMMANDS"]
