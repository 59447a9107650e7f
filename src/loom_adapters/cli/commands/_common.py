"""What command handlers share: the application, built once per command with the CLI's
choices, and the caller's ``Access`` from ``--api-key``/``--base-url``."""

from __future__ import annotations

import argparse
import gc
import sys

from dependency_injector import providers

from loom_adapters.application import Access, Application
from loom_adapters.container import create_container

__all__ = ["access_from", "open_app"]


def open_app() -> Application:
    """The application, warning about plugins that failed to load.

    Once a provider adapter is built the heap is frozen: the SDK it imported built thousands
    of classes that live as long as the command, and frozen, the garbage collector stops
    walking them at every full collection of a run (one took 35 to 50 ms after the openai
    import). Only the command line does this; a library must not freeze its host's heap.
    """
    container = create_container()
    container.on_adapter_built.override(providers.Object(gc.freeze))
    app = container.application()
    for failure in app.plugin_failures():
        print(f"Warning: {failure}", file=sys.stderr)
    return app


def access_from(args: argparse.Namespace) -> Access:
    return Access(api_key=getattr(args, "api_key", None), base_url=getattr(args, "base_url", None))
