"""Offline stand-ins for tests, benches and smoke runs: tiny or full-size look-alikes of real Hub checkpoints
(`python -m bertft_utils.testing.lookalikes`). Nothing in the package's run path imports it."""
