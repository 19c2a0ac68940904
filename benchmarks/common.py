"""What every benchmark shares: Django set-up, timing, memory, and the final RESULT line.

A benchmark is a module with a ``main(argv=None) -> dict`` that prints its figures in words and
ends with ``print_result(figures)``: one line ``RESULT {json}`` that scripts and CI read.
"""

import json
import os
import resource
import sys
import time
import tracemalloc
from collections.abc import Callable
from contextlib import contextmanager


def setup_django(settings_module: str = "billing_site.settings.local") -> None:
    """Configure Django once, so a benchmark may import the apps' modules."""
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", settings_module)
    import django
    from django.apps import apps

    if not apps.ready:
        django.setup()


class Stopwatch:
    """Elapsed wall-clock seconds of a ``with`` block (``time.perf_counter``)."""

    def __init__(self) -> None:
        self.seconds = 0.0

    def __enter__(self) -> "Stopwatch":
        self._start = time.perf_counter()
        return self

    def __exit__(self, *exc) -> None:
        self.seconds = time.perf_counter() - self._start


@contextmanager
def traced_peak():
    """Measure the peak of Python allocations inside the block, in bytes (tracemalloc).

    Tracing slows the code it watches: measure memory and time in separate runs.
    """
    figures = {"peak_bytes": 0}
    already = tracemalloc.is_tracing()
    if not already:
        tracemalloc.start()
    tracemalloc.reset_peak()
    base, _ = tracemalloc.get_traced_memory()
    try:
        yield figures
    finally:
        _, peak = tracemalloc.get_traced_memory()
        figures["peak_bytes"] = max(0, peak - base)
        if not already:
            tracemalloc.stop()


def max_rss_bytes(who: int = resource.RUSAGE_SELF) -> int:
    """Return the process's peak resident memory so far, in bytes (RUSAGE_CHILDREN: the
    largest of its waited-for child processes)."""
    peak = resource.getrusage(who).ru_maxrss
    return peak if sys.platform == "darwin" else peak * 1024


def per_second(count: int, seconds: float) -> float:
    """Return a rate, guarding against a zero duration."""
    return count / seconds if seconds > 0 else float("inf")


def repeat_over(items: list, count: int, call: Callable) -> float:
    """Call ``call(item)`` ``count`` times, cycling over items; return the seconds it took."""
    rounds, rest = divmod(count, len(items))
    tail = items[:rest]
    start = time.perf_counter()
    for _ in range(rounds):
        for item in items:
            call(item)
    for item in tail:
        call(item)
    return time.perf_counter() - start


def mb(size: int) -> str:
    return f"{size / 1_000_000:.1f} MB"


def print_result(figures: dict) -> None:
    """Print the final line that scripts read: ``RESULT {json}``."""
    print("RESULT " + json.dumps(figures, sort_keys=True), flush=True)
