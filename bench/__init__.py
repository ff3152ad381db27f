"""Benchmark and demo tooling: synthetic seized-server content, images built from it, and the runner.

Nothing here is imported by the pipeline; it exists so that `make demo` and `make bench` have
evidence whose contents are known exactly (see `planted.json` beside every image).
"""
