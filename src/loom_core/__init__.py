"""Loom's domain: pure Python, no files, no network, no SDK, no environment.

Start with ``model`` (the value types: a dataset ``Record``, ``GenerationSettings``, a
``Completion``, a ``BatchJob``), then ``ports`` (what the core needs from the world, as
protocols) and ``services`` (one module per use case: ``run_sync``, ``submit``, ``fetch``,
``cancel``, ``tokens``). ``errors`` draws the error tree; ``hookspecs`` and ``providers`` are
the plugin contract. ``calls``, ``retry`` and ``throttle`` are the one retry loop every path
shares. Import contracts (``pyproject.toml``, checked by the tests) keep this package pure.
"""
