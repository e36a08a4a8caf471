"""Progress of long steps: a tqdm bar on a terminal, steady log lines everywhere else.

A log file, CI or a scheduler shows nothing of a tqdm bar (or one carriage-return-joined line at
the end), so a 15-minute embedding looks hung. :class:`Progress` draws a tqdm bar when its stream
is a terminal; otherwise it writes one plain line whenever another 10 % is done or ``interval_s``
seconds have passed since the last line, and a closing line (steps shorter than ``quiet_s``
write nothing: they are not what leaves a log silent)::

    embedding: 12,800/38,000 (34%), 142 texts/s, ETA 2:57

Every long step of byod (embedding texts, audit rounds, LLM generation and scoring, head
training) goes through this one helper.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from typing import IO, Any, TypeVar

import numpy as np

__all__ = ["Progress", "ProgressBackbone", "track", "encode_with_progress"]

T = TypeVar("T")
QUIET_S = 1.0  # default ``quiet_s``: steps shorter than this write no line


class Progress:
    """Count ``done`` of ``total`` units of a named step.

    Args:
        total: units the step has (``None``: unknown; lines then show no share or ETA).
        desc: the step's name (``embedding``, ``audit``, ``augment``, ...).
        unit: what is counted (``text``, ``split``, ``item``, ``step``).
        enabled: ``False`` shows nothing (library callers pass their ``progress`` flag).
        initial: units already done (e.g. found in a cache).
        stream: where to write (default: ``sys.stderr`` when the bar starts).
        interval_s: longest silence between two log lines when not on a terminal.
        every: share of ``total`` after which a log line is written regardless of time.
        quiet_s: no line before this many seconds (short steps stay silent; default
            ``QUIET_S``).
        clock: seconds since some origin (tests pass a fake one).
    """

    def __init__(
        self,
        total: int | None,
        desc: str,
        unit: str = "item",
        *,
        enabled: bool = True,
        initial: int = 0,
        stream: IO[str] | None = None,
        interval_s: float = 10.0,
        every: float = 0.1,
        quiet_s: float | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.total, self.desc, self.unit = total, desc, unit
        self.done = self.initial = initial
        self.enabled = enabled
        self.stream = stream if stream is not None else sys.stderr
        self.interval_s, self.every, self.clock = interval_s, every, clock
        self.quiet_s = QUIET_S if quiet_s is None else quiet_s
        self.lines = 0  # log lines written (not counting a bar)
        self._start = self._last_time = clock()
        self._last_done = initial
        self._closed = False
        self._bar = None
        if enabled and _is_terminal(self.stream):
            from tqdm.auto import tqdm

            self._bar = tqdm(total=total, initial=initial, desc=desc, unit=unit, file=self.stream)

    def __enter__(self) -> Progress:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def update(self, n: int = 1) -> None:
        """Count ``n`` more units done."""
        self.done += n
        if not self.enabled:
            return
        if self._bar is not None:
            self._bar.update(n)
            return
        now = self.clock()
        if now - self._start < self.quiet_s or (self.total and self.done >= self.total):
            return  # the closing line reports the end
        step = self.every * self.total if self.total else None
        due_share = step is not None and self.done - self._last_done >= step
        if due_share or now - self._last_time >= self.interval_s:
            self._write(now)

    def close(self) -> None:
        """End the step: close the bar, or write the closing line (once)."""
        if self._closed:
            return
        self._closed = True
        if not self.enabled:
            return
        if self._bar is not None:
            self._bar.close()
        elif self.lines or self.clock() - self._start >= self.quiet_s:
            self._write(self.clock(), final=True)

    def line(self, now: float | None = None, *, final: bool = False) -> str:
        """The log line for the current state: ``desc: done/total (pct), rate, ETA``."""
        now = self.clock() if now is None else now
        elapsed = max(now - self._start, 1e-9)
        rate = (self.done - self.initial) / elapsed
        parts = [f"{self.desc}: {self.done:,}" + (f"/{self.total:,}" if self.total else "")]
        if self.total:
            parts[0] += f" ({self.done / self.total:.0%})"
        parts.append(f"{_rate(rate)} {self.unit}s/s")
        if final:
            parts.append(f"done in {_clock(elapsed)}")
        elif self.total and rate > 0:
            parts.append(f"ETA {_clock((self.total - self.done) / rate)}")
        return ", ".join(parts)

    def _write(self, now: float, *, final: bool = False) -> None:
        print(self.line(now, final=final), file=self.stream, flush=True)
        self._last_time, self._last_done = now, self.done
        self.lines += 1


def track(
    items: Iterable[T],
    desc: str,
    unit: str = "item",
    *,
    total: int | None = None,
    enabled: bool = True,
    **kwargs: Any,
) -> Iterator[T]:
    """Iterate ``items`` with a :class:`Progress` (``total`` defaults to ``len(items)``)."""
    if total is None and isinstance(items, Sequence):
        total = len(items)
    with Progress(total, desc, unit, enabled=enabled, **kwargs) as bar:
        for item in items:
            yield item
            bar.update(1)


def encode_with_progress(
    backbone: Any,
    texts: Sequence[str],
    *,
    batch_size: int = 64,
    desc: str = "embedding",
    enabled: bool = True,
    chunk: int = 1024,
    **kwargs: Any,
) -> np.ndarray:
    """``backbone.encode`` over ``texts`` in chunks, with progress; ``(n, dim)`` float32.

    Any object with ``encode(texts, *, batch_size, progress)`` and ``dim`` works (a
    :class:`~byod.encoders.backbone.TextBackbone`); chunks of ``chunk`` texts keep the count
    moving without changing the vectors (each text is encoded on its own).
    """
    texts = list(texts)
    if not texts:
        return np.zeros((0, backbone.dim), dtype=np.float32)
    parts = []
    with Progress(len(texts), desc, "text", enabled=enabled, **kwargs) as bar:
        for start in range(0, len(texts), chunk):
            part = texts[start : start + chunk]
            parts.append(backbone.encode(part, batch_size=batch_size, progress=False))
            bar.update(len(part))
    return np.concatenate(parts).astype(np.float32, copy=False)


class ProgressBackbone:
    """A backbone whose ``encode`` reports progress (for code that calls ``encode`` itself).

    Args:
        backbone: the wrapped :class:`~byod.encoders.backbone.TextBackbone`; ``name``, ``dim``,
            ``fingerprint`` and everything else are passed through.
        desc: the step's name in the progress lines.
        enabled: ``False``: a plain pass-through.
    """

    def __init__(self, backbone: Any, desc: str = "embedding", *, enabled: bool = True) -> None:
        # Wrapping twice would report every chunk twice: unwrap first.
        self._backbone = backbone._backbone if isinstance(backbone, ProgressBackbone) else backbone
        self._desc, self._enabled = desc, enabled

    def __getattr__(self, name: str) -> Any:
        if name.startswith("_"):  # copy / pickle probe before __init__ ran: no recursion
            raise AttributeError(name)
        return getattr(self._backbone, name)

    def encode(self, texts: list[str], *, batch_size: int = 64, progress: bool = False) -> Any:
        """As the backbone's ``encode``, in chunks with a :class:`Progress`."""
        return encode_with_progress(self._backbone, texts, batch_size=batch_size,
                                    desc=self._desc, enabled=self._enabled)  # fmt: skip


def _is_terminal(stream: IO[str]) -> bool:
    try:
        return bool(stream.isatty())
    except (AttributeError, ValueError):  # a closed or odd stream: plain lines are safe
        return False


def _rate(rate: float) -> str:
    return f"{rate:,.0f}" if rate >= 10 else f"{rate:.2f}"


def _clock(seconds: float) -> str:
    seconds = int(round(seconds))
    h, rest = divmod(seconds, 3600)
    m, s = divmod(rest, 60)
    return f"{h}:{m:02d}:{s:02d}" if h else f"{m}:{s:02d}"
