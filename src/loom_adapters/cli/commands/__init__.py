"""One module per ``loom`` command, each with ``handle(args) -> exit code``."""
