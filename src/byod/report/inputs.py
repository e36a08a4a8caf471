"""Read what a run directory holds; note, rather than fail on, what it lacks.

Each reader returns None (and appends a sentence to ``missing``) when its file is absent or cannot
be used, so a report can always be written from whatever exists.
"""

from __future__ import annotations

import dataclasses
import json
import math
from pathlib import Path

import polars as pl

from byod.errors import ByodError
from byod.features.table import FeatureTable, read_feature_table
from byod.report.tables import CLASSIFY_COLUMNS, RECOMMEND_COLUMNS

__all__ = [
    "RunInputs",
    "check_run_dir",
    "load_inputs",
    "read_classify",
    "read_recommend",
    "read_embedding",
    "read_labels",
    "read_histories",
    "read_curves",
]

CLASSIFY_PATH = Path("transfer/classify.parquet")
RECOMMEND_PATH = Path("transfer/recommend.parquet")
LABELS_PATH = Path("labels.parquet")
HISTORIES_PATH = Path("histories.parquet")
PRIMARY_EMBEDDING = "clue"


@dataclasses.dataclass
class RunInputs:
    """Everything a report is made from; None where the run lacks it.

    Attributes:
        run_dir: the run directory.
        classify: ``source, task, metric, mean, std, n_seeds`` rows.
        recommend: ``source, protocol, segment, metric, value, n_users`` rows.
        embedding: the primary feature table (``features/clue``, else the first one).
        labels: ``user_id, task, label`` rows.
        histories: ``user_id, event_texts`` rows (one per user and service).
        curves: model name -> ``epoch, train_loss, val_loss`` rows (from ``metrics.jsonl``).
        missing: one sentence per input that is absent or unusable.
    """

    run_dir: Path
    classify: pl.DataFrame | None = None
    recommend: pl.DataFrame | None = None
    embedding: FeatureTable | None = None
    labels: pl.DataFrame | None = None
    histories: pl.DataFrame | None = None
    curves: dict[str, pl.DataFrame] = dataclasses.field(default_factory=dict)
    missing: list[str] = dataclasses.field(default_factory=list)

    @property
    def embedding_name(self) -> str | None:
        """The feature folder's name, e.g. ``clue``."""
        return None if self.embedding is None else self.embedding.path.parent.name


def check_run_dir(run_dir: str | Path) -> Path:
    """Return ``run_dir`` as a Path; raise :class:`ByodError` unless it is a directory."""
    run_dir = Path(run_dir)
    if not run_dir.exists():
        raise ByodError(f"{run_dir}: run directory not found; give the folder a run wrote into")
    if not run_dir.is_dir():
        raise ByodError(f"{run_dir}: not a directory; give the run's folder, not a file in it")
    return run_dir


def _read_parquet(
    run_dir: Path,
    rel: Path,
    columns: tuple[str, ...],
    use: str,
    missing: list[str],
    optional: tuple[str, ...] = (),
) -> pl.DataFrame | None:
    path = run_dir / rel
    if not path.exists():
        missing.append(f"{rel}: not found, so {use} are left out.")
        return None
    try:
        # glob=False: a run folder may be named like "run[1]"
        schema = pl.scan_parquet(path, glob=False).collect_schema()
        lacking = [c for c in columns if c not in schema]
        wanted = [*columns, *(c for c in optional if c in schema)]
        df = None if lacking else pl.read_parquet(path, columns=wanted, glob=False)
    except Exception as exc:  # noqa: BLE001 (any unreadable file is reported, not raised)
        missing.append(f"{rel}: unreadable ({type(exc).__name__}), so {use} are left out.")
        return None
    if df is None:
        missing.append(f"{rel}: lacks column(s) {lacking}, so {use} are left out.")
        return None
    if df.is_empty():
        missing.append(f"{rel}: has no rows, so {use} are left out.")
        return None
    return df


def read_classify(run_dir: Path, missing: list[str]) -> pl.DataFrame | None:
    """``transfer/classify.parquet``, or None (noted in ``missing``).

    A source evaluated with several heads becomes one row per head, ``clue (mlp)``; a source
    with one head keeps its plain name.
    """
    df = _read_parquet(
        run_dir, CLASSIFY_PATH, CLASSIFY_COLUMNS, "the classification tables", missing, ("head",)
    )
    if df is None or "head" not in df.columns:
        return df
    n_heads = pl.col("head").n_unique().over("source")
    return df.with_columns(
        source=pl.when(n_heads > 1)
        .then(pl.format("{} ({})", "source", "head"))
        .otherwise(pl.col("source"))
    )


def read_recommend(run_dir: Path, missing: list[str]) -> pl.DataFrame | None:
    """``transfer/recommend.parquet``, or None (noted in ``missing``)."""
    return _read_parquet(
        run_dir, RECOMMEND_PATH, RECOMMEND_COLUMNS, "the recommendation tables", missing
    )


def read_labels(run_dir: Path, missing: list[str]) -> pl.DataFrame | None:
    """``labels.parquet`` as strings, or None (noted in ``missing``)."""
    df = _read_parquet(
        run_dir,
        LABELS_PATH,
        ("user_id", "task", "label"),
        "gender, age and occupation in the map and the cluster table",
        missing,
    )
    return None if df is None else df.select(pl.all().cast(pl.String))


def read_histories(run_dir: Path, missing: list[str]) -> pl.DataFrame | None:
    """``user_id, event_texts`` of ``histories.parquet``, or None (noted in ``missing``)."""
    return _read_parquet(
        run_dir,
        HISTORIES_PATH,
        ("user_id", "event_texts"),
        "the clusters' distinctive words",
        missing,
    )


def read_embedding(run_dir: Path, missing: list[str]) -> FeatureTable | None:
    """The primary feature table: ``features/clue`` if present, else the first folder (sorted)."""
    root = run_dir / "features"
    folders = sorted(p for p in root.iterdir() if p.is_dir()) if root.is_dir() else []
    if not folders:
        missing.append("features/: no feature table, so the map and the clusters are left out.")
        return None
    primary = root / PRIMARY_EMBEDDING
    folder = primary if primary in folders else folders[0]
    try:
        table = read_feature_table(folder)
    except Exception as exc:  # noqa: BLE001 (reported, not raised: the rest of the report stands)
        reason = str(exc) if isinstance(exc, ByodError) else f"unreadable ({type(exc).__name__})"
        missing.append(f"features/{folder.name}: {reason}; the map and the clusters are left out.")
        return None
    if table.features.height < 2:
        missing.append(
            f"features/{folder.name}: fewer than 2 users, so the map and the clusters are left out."
        )
        return None
    return table


def _loss(value: object) -> float:
    return float(value) if isinstance(value, int | float) else math.nan


def read_curves(run_dir: Path, missing: list[str]) -> dict[str, pl.DataFrame]:
    """``models/<name>/metrics.jsonl`` per model, as ``epoch, train_loss, val_loss`` rows."""
    curves: dict[str, pl.DataFrame] = {}
    for path in sorted((run_dir / "models").glob("*/metrics.jsonl")):
        name = path.parent.name
        try:
            records = [
                json.loads(line)
                for line in path.read_text(encoding="utf-8").splitlines()
                if line.strip()
            ]
        except (OSError, ValueError) as exc:
            missing.append(f"models/{name}/metrics.jsonl: unreadable ({exc}); curve left out.")
            continue
        rows = [
            {
                "epoch": int(r["epoch"]),
                "train_loss": _loss(r.get("train_loss")),
                "val_loss": _loss(r.get("val_loss")),
            }
            for r in records
            if isinstance(r, dict) and isinstance(r.get("epoch"), int | float)
        ]
        if rows:
            curves[name] = pl.DataFrame(
                rows, schema={"epoch": pl.Int64, "train_loss": pl.Float64, "val_loss": pl.Float64}
            ).sort("epoch")
        else:
            missing.append(f"models/{name}/metrics.jsonl: no epochs logged; curve left out.")
    if not curves:
        missing.append("models/*/metrics.jsonl: not found, so the training curves are left out.")
    return curves


def load_inputs(run_dir: str | Path) -> RunInputs:
    """Read every input of a report from ``run_dir``.

    Raises:
        ByodError: ``run_dir`` does not exist or is not a directory.
    """
    run_dir = check_run_dir(run_dir)
    missing: list[str] = []
    return RunInputs(
        run_dir=run_dir,
        classify=read_classify(run_dir, missing),
        recommend=read_recommend(run_dir, missing),
        embedding=read_embedding(run_dir, missing),
        labels=read_labels(run_dir, missing),
        histories=read_histories(run_dir, missing),
        curves=read_curves(run_dir, missing),
        missing=missing,
    )
