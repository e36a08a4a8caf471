"""A pseudo-label job's result on the text page: kept / dropped by a confidence threshold.

The job writes every soft label (``soft-labels.csv``); the threshold is applied here, so a
person can move it and see the counts change without scoring again. The chosen threshold is
kept in the job's folder (``threshold.json``), so a reload shows the same split.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from byod.atomic import write_json
from byod.errors import ByodError

__all__ = [
    "THRESHOLD",
    "DEFAULT_THRESHOLD",
    "soft_labels",
    "threshold_of",
    "parse_threshold",
    "put_threshold",
    "split",
    "soft_view",
]

THRESHOLD = "threshold.json"
DEFAULT_THRESHOLD = 0.9  # FixMatch's confidence threshold (byod.textlab.semisup.SSLConfig)
SHOWN = 50  # rows listed on the card (the download has them all)


def soft_labels(state: dict[str, Any]) -> Any:
    """The job's ``soft-labels.csv`` as a frame (polars), or None before it exists."""
    import polars as pl

    from byod.tabular import read_table

    path = state.get("outputs", {}).get("soft_labels")
    if not path or not Path(path).exists():
        return None
    df = read_table(path, text_columns=("text", "label"))
    probs = [c for c in df.columns if c == "confidence" or c.startswith("prob_")]
    return df.with_columns([pl.col(c).cast(pl.Float64) for c in probs])


def threshold_of(folder: Path, spec: dict[str, Any]) -> float:
    """The threshold chosen on the card, else the one the job was started with."""
    path = folder / THRESHOLD
    if path.exists():
        return float(json.loads(path.read_text(encoding="utf-8")))
    return float(spec.get("threshold", DEFAULT_THRESHOLD))


def parse_threshold(raw: str | None) -> float:
    """A threshold from a form field: a number in [0, 1] (one clear line otherwise)."""
    try:
        value = float(raw if raw not in (None, "") else DEFAULT_THRESHOLD)
    except ValueError:
        raise ByodError(f"the confidence threshold must be a number, got {raw!r}") from None
    if not 0.0 <= value <= 1.0:
        raise ByodError(f"the confidence threshold must be between 0 and 1, got {value}")
    return value


def put_threshold(folder: Path, value: float) -> None:
    """Remember the card's threshold (atomically)."""
    write_json(value, folder / THRESHOLD)


def split(df: Any, threshold: float) -> dict[str, Any]:
    """Counts (total = kept + dropped, kept per label) and the first rows, each marked kept."""
    import polars as pl

    marked = df.with_columns(kept=pl.col("confidence") >= threshold)
    kept = marked.filter(pl.col("kept"))
    per_label = dict(kept.group_by("label").len().sort("label").iter_rows())
    return {
        "threshold": threshold,
        "total": marked.height,
        "kept": kept.height,
        "dropped": marked.height - kept.height,
        "per_label": per_label,
        "rows": marked.head(SHOWN).select("text", "label", "confidence", "kept").to_dicts(),
    }


def soft_view(folder: Path, state: dict[str, Any], spec: dict[str, Any]) -> dict[str, Any] | None:
    """The card's view of a pseudo-label job (None before its soft labels exist)."""
    df = soft_labels(state)
    if df is None:
        return None
    return split(df, threshold_of(folder, spec))
