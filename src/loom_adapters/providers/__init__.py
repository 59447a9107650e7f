"""Loom's built-in provider plugins: openai, anthropic, google and openrouter.

Each subpackage is a plugin module, named by an entry point in the ``loom`` group of this
distribution's pyproject.toml, exactly as a third-party plugin would be. Subpackages import
their SDK only inside the adapter factories, so loading the plugins stays cheap.
"""
