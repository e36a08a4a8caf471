"""Write a float32 safetensors file one tensor at a time.

``safetensors.numpy.save_file`` needs every tensor in memory at once and copies each into bytes:
about 1 GB for e5-small's 118M float32 weights. The format is simple enough to stream instead: an
8-byte little-endian header length, a JSON header with each tensor's dtype, shape and byte range
(padded with spaces to a multiple of 8), then the raw little-endian data in that order. With
every shape known up front, the header is written first and each tensor is produced, written and
freed in turn, so peak memory is the largest tensor.
"""

from __future__ import annotations

import json
import math
import struct
from collections.abc import Callable
from pathlib import Path

import numpy as np

from byod.errors import ByodError

__all__ = ["write_safetensors_stream"]

_ALIGN = 8


def _header(shapes: dict[str, tuple[int, ...]], metadata: dict[str, str]) -> bytes:
    header: dict[str, object] = {"__metadata__": metadata}
    start = 0
    for name, shape in shapes.items():
        end = start + 4 * math.prod(shape)
        header[name] = {"dtype": "F32", "shape": list(shape), "data_offsets": [start, end]}
        start = end
    raw = json.dumps(header, separators=(",", ":")).encode("utf-8")
    return raw + b" " * (-len(raw) % _ALIGN)


def write_safetensors_stream(
    path: str | Path,
    shapes: dict[str, tuple[int, ...]],
    produce: Callable[[str], np.ndarray],
    *,
    metadata: dict[str, str] | None = None,
) -> Path:
    """Write tensors ``shapes`` (name -> shape, in file order), asking ``produce(name)`` for each.

    Args:
        path: the ``.safetensors`` file to write.
        shapes: every tensor's shape, in the order they are written.
        produce: returns tensor ``name`` as float32 with ``math.prod(shape)`` elements (any shape).
        metadata: string metadata; transformers needs ``{"format": "pt"}`` (the default).

    Raises:
        ByodError: a produced tensor has the wrong size.
    """
    path = Path(path)
    header = _header(shapes, metadata or {"format": "pt"})
    with path.open("wb") as fh:
        fh.write(struct.pack("<Q", len(header)))
        fh.write(header)
        for name, shape in shapes.items():
            array = np.ascontiguousarray(produce(name), dtype="<f4")
            if array.size != math.prod(shape):
                raise ByodError(
                    f"tensor {name!r}: {array.size} values for shape {shape} "
                    f"({math.prod(shape)} expected)"
                )
            fh.write(memoryview(array).cast("B"))
    return path
