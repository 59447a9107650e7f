"""Unit tests of ``loom_core``: the pure core, driven through in-memory fakes of its ports."""
