"""Benchmarks: one runnable module each, ``python -m benchmarks.<name> [options]``.

Each prints its figures and ends with one line ``RESULT {json}`` (benchmarks.common).
"""
