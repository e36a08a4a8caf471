"""``byod.progress``: steady lines with done/total, rate and ETA when stderr is not a terminal."""

from __future__ import annotations

import io

import numpy as np

from byod.progress import Progress, ProgressBackbone, encode_with_progress, track


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def test_lines_every_tenth_and_every_interval_with_done_total_rate_eta() -> None:
    stream, clock = io.StringIO(), Clock()
    bar = Progress(1000, "embedding", "text", stream=stream, clock=clock, interval_s=10.0)
    for _ in range(250):  # 2 texts/s: a tenth takes 50 s, so the 10 s interval leads
        clock.now += 0.5
        bar.update(1)
    bar.close()
    lines = stream.getvalue().splitlines()
    assert lines[0] == "embedding: 20/1,000 (2%), 2.00 texts/s, ETA 8:10"
    assert len(lines) == 13 and all(line.startswith("embedding: ") for line in lines)
    assert lines[-1] == "embedding: 250/1,000 (25%), 2.00 texts/s, done in 2:05"


def test_a_fast_step_writes_at_each_tenth_and_a_short_one_stays_silent() -> None:
    stream, clock = io.StringIO(), Clock()
    with Progress(100, "audit", "split", stream=stream, clock=clock, interval_s=1e9) as bar:
        clock.now = 5.0  # past the quiet start
        for _ in range(100):
            bar.update(1)
    done = [line.split(":")[1].split()[0] for line in stream.getvalue().splitlines()]
    assert done == [f"{n}/100" for n in range(10, 101, 10)]  # the last one is the closing line
    quiet = io.StringIO()
    list(track(range(50), "quick", stream=quiet))  # well under a second
    assert quiet.getvalue() == ""


def test_disabled_writes_nothing_and_a_terminal_gets_a_bar() -> None:
    stream, clock = io.StringIO(), Clock()
    bar = Progress(10, "x", stream=stream, clock=clock, enabled=False)
    clock.now = 100.0
    bar.update(10)
    bar.close()
    assert stream.getvalue() == ""

    class Tty(io.StringIO):
        def isatty(self) -> bool:
            return True

    tty = Tty()
    with Progress(3, "tty", stream=tty) as bar:
        bar.update(3)
    assert "\r" in tty.getvalue() and "3/3" in tty.getvalue()  # tqdm's own bar


class _Backbone:
    name, fingerprint, dim = "fake", "f0", 2

    def __init__(self) -> None:
        self.calls: list[int] = []

    def encode(self, texts, *, batch_size=64, progress=False):  # noqa: ANN001, ANN201
        self.calls.append(len(texts))
        return np.asarray([[len(t), 1.0] for t in texts], dtype=np.float32)


def test_encoding_in_chunks_gives_the_same_vectors_and_reports_them() -> None:
    bb, stream = _Backbone(), io.StringIO()
    texts = [f"text {i}" * (i % 3 + 1) for i in range(2500)]
    out = encode_with_progress(bb, texts, stream=stream, quiet_s=0.0, chunk=1000)
    assert bb.calls == [1000, 1000, 500] and out.shape == (2500, 2)
    np.testing.assert_array_equal(out[:, 0], [len(t) for t in texts])
    assert stream.getvalue().splitlines()[-1].startswith("embedding: 2,500/2,500 (100%), ")
    wrapped = ProgressBackbone(ProgressBackbone(bb))  # wrapping twice reports once
    assert wrapped.dim == 2 and wrapped.fingerprint == "f0" and wrapped._backbone is bb
