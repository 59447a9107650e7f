"""Everything that touches the world, each piece implementing a port of ``loom_core``.

Start with ``container`` (the composition root: environment, folders, clock, plugins, stores)
and ``application`` (every use case assembled once, for both faces); ``cli`` is the command
line's face over it (the library's is the ``loom`` package). The rest are adapters:
``providers`` (openai, anthropic, google, openrouter, each a plugin), ``codecs`` (file
formats), ``state`` (remembered batch jobs), ``cache`` (answers already paid for), ``keys``
and ``paths``.
"""
