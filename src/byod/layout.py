"""Where a run keeps its tables: one layout for the pipeline's writers and the report's reader.

A run directory looks like this (every path below is an attribute of :class:`RunLayout`)::

    RUN/
      raw/                    logs as exported (the demo's MovieLens logs + ingest.yaml)
      ingested/
        events.parquet        the event contract (byod data ingest)
        rejects.csv           rows ingest refused, with reasons
        labels.parquet        user_id, task, label (optional)
        items.parquet         item_id, item_text (optional; else an item's first event text)
      histories.parquet       one row per (user, service): the serialized histories
      split/                  history.parquet, valid.parquet, test.parquet (leave-one-out)
      models/NAME/            a trained user encoder (config, weights, metrics.jsonl)
      features/NAME/          its feature table (versions, blocks, FAISS index)
      transfer/               classify.parquet, recommend.parquet (the results)
      tuning/NAME/            a study of `byod tune ... --out RUN/tuning/NAME` (the report's
                              Tuning section: tuning.json + figures; journal, best_params.json)
      run.json                the config, the primary source, label tasks, timings
      report/                 index.html, report.md and figures

This module imports nothing from byod, so every layer may read a run through it.
"""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path
from typing import Any

__all__ = ["RunLayout"]


@dataclasses.dataclass(frozen=True)
class RunLayout:
    """The paths of one run directory.

    Attributes:
        root: the run directory.
    """

    root: Path

    def __post_init__(self) -> None:
        object.__setattr__(self, "root", Path(self.root))

    @property
    def raw(self) -> Path:
        """Raw logs as exported, before ingestion."""
        return self.root / "raw"

    @property
    def ingested(self) -> Path:
        """The ingested tables' folder."""
        return self.root / "ingested"

    @property
    def events(self) -> Path:
        """``ingested/events.parquet``."""
        return self.ingested / "events.parquet"

    @property
    def rejects(self) -> Path:
        """``ingested/rejects.csv``."""
        return self.ingested / "rejects.csv"

    @property
    def labels(self) -> Path:
        """``ingested/labels.parquet`` (``user_id, task, label``)."""
        return self.ingested / "labels.parquet"

    @property
    def items(self) -> Path:
        """``ingested/items.parquet`` (``item_id, item_text``)."""
        return self.ingested / "items.parquet"

    @property
    def histories(self) -> Path:
        """``histories.parquet``: one row per (user, service)."""
        return self.root / "histories.parquet"

    @property
    def split(self) -> Path:
        """``split/``: ``history``, ``valid`` and ``test`` Parquet files."""
        return self.root / "split"

    def model(self, name: str) -> Path:
        """``models/NAME``: a trained user encoder."""
        return self.models / name

    @property
    def models(self) -> Path:
        """``models/``."""
        return self.root / "models"

    def features(self, name: str) -> Path:
        """``features/NAME``: a feature-table folder."""
        return self.features_root / name

    @property
    def features_root(self) -> Path:
        """``features/``."""
        return self.root / "features"

    @property
    def results(self) -> Path:
        """``transfer/``: the result tables."""
        return self.root / "transfer"

    @property
    def classify(self) -> Path:
        """``transfer/classify.parquet``."""
        return self.results / "classify.parquet"

    @property
    def recommend(self) -> Path:
        """``transfer/recommend.parquet``."""
        return self.results / "recommend.parquet"

    @property
    def tuning(self) -> Path:
        """``tuning/``: one folder per ``byod tune`` study the report shows."""
        return self.root / "tuning"

    def tuning_study(self, name: str) -> Path:
        """``tuning/NAME``: the folder to pass to ``byod tune ... --out``."""
        return self.tuning / name

    @property
    def run_info(self) -> Path:
        """``run.json``: what the run was (config, primary source, tasks, timings)."""
        return self.root / "run.json"

    @property
    def report(self) -> Path:
        """``report/``: index.html, report.md, figures."""
        return self.root / "report"

    def read_run_info(self) -> dict[str, Any]:
        """``run.json`` as a dict; ``{}`` when absent or unreadable (older runs have none)."""
        try:
            info = json.loads(self.run_info.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return {}
        return info if isinstance(info, dict) else {}
