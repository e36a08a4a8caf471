"""CPU threads per step: how many torch threads the LLM, the encoder and the head get.

Measured on the 2-core build machine (issue 18): the transformers LLM ran 2-3× *slower* with 2
torch threads than with 1 while other work shared the cores. An LLM step is a long run of small
matrix products (one context, a handful of label strings, batch 1-8), where extra threads mostly
wait on each other and on whatever else runs; sentence encoding runs large batches and does gain
from every core; the heads are tiny and run on one thread already (``threadpool_limits(1)``).

The choice, unless ``--threads`` says otherwise:

* ``llm``: half the cores, at least 1 (1 on a 2-core machine), at most 8;
* ``encoder``: every core;
* ``head``: 1.

``--threads N`` gives every step ``N`` threads.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator

from byod.textlab.errors import TextlabError

__all__ = ["STEPS", "default_threads", "torch_threads", "step_threads"]

STEPS = ("llm", "encoder", "head")


def _cores() -> int:
    try:
        return len(os.sched_getaffinity(0))  # the cores this process may use (containers, taskset)
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1


def default_threads(step: str, cores: int | None = None) -> int:
    """Threads for ``step`` (``llm``, ``encoder`` or ``head``) on ``cores`` (default: ours)."""
    if step not in STEPS:
        raise TextlabError(f"unknown step {step!r}; choose one of {STEPS}")
    cores = cores or _cores()
    if step == "llm":
        return max(1, min(8, cores // 2))
    return cores if step == "encoder" else 1


def step_threads(step: str, threads: int | None = None) -> int:
    """``threads`` when given (``--threads``), else :func:`default_threads` for ``step``."""
    if threads is not None and threads < 1:
        raise TextlabError(f"threads must be >= 1; got {threads}")
    return threads if threads is not None else default_threads(step)


@contextlib.contextmanager
def torch_threads(n: int | None) -> Iterator[None]:
    """Run the block with ``torch.set_num_threads(n)``, then restore (``None``: unchanged)."""
    if n is None:
        yield
        return
    import torch

    before = torch.get_num_threads()
    torch.set_num_threads(n)
    try:
        yield
    finally:
        torch.set_num_threads(before)
