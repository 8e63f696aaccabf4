"""One module per command: ``NAME``, ``HELP``, ``EXAMPLE``, ``add_arguments`` and ``run``."""

from litecomplete.commands import bench, complete, convert, export_gguf, inspect_file

COMMANDS = [convert, complete, inspect_file, bench, export_gguf]

__all__ = ["COMMANDS"]
