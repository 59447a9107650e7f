"""The use cases, one module each, as plain functions that take their collaborators.

``run_sync``, ``submit_batch``, ``fetch_batches``, ``list_batches``, ``count_tokens`` and
``clear_cache`` are what the command line and the library facade call; they receive ports,
never adapters, so tests drive them with in-memory fakes.
"""
