"""Read what a run directory holds; note, rather than fail on, what it lacks.

Paths come from :class:`byod.layout.RunLayout`, the layout the pipeline writes. What
the report maps, colours by and strips comes from the run's ``run.json`` (the primary source,
the label columns, a pattern to strip from event texts); a run without one (made by hand, or by
``byod transfer``) gets the first feature table, its first label column and the texts whole.

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
from byod.layout import RunLayout
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

# Tables that `byod data builtin` and `byod transfer` put at a run's root, before RunLayout.
_ROOT_LABELS = Path("labels.parquet")


@dataclasses.dataclass
class RunInputs:
    """Everything a report is made from; None where the run lacks it.

    Attributes:
        run_dir: the run directory.
        classify: ``source, task, metric, mean, std, n_seeds`` rows.
        recommend: ``source, protocol, segment, metric, value, n_users`` rows.
        embedding: the primary feature table (``run.json``'s primary, else the first one).
        labels: ``user_id, task, label`` rows.
        tasks: the label columns, in the run's order (``run.json``, else the labels' own).
        colour_by: the label column the map colours by (None: no label colouring).
        strip_pattern: a regex removed from event texts before the cluster words (None: none).
        histories: ``user_id, event_texts`` rows (one per user and service).
        curves: model name -> ``epoch, train_loss, val_loss`` rows (from ``metrics.jsonl``).
        missing: one sentence per input that is absent or unusable.
    """

    run_dir: Path
    classify: pl.DataFrame | None = None
    recommend: pl.DataFrame | None = None
    embedding: FeatureTable | None = None
    labels: pl.DataFrame | None = None
    tasks: list[str] = dataclasses.field(default_factory=list)
    colour_by: str | None = None
    strip_pattern: str | None = None
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
    path: Path,
    columns: tuple[str, ...],
    use: str,
    missing: list[str],
    optional: tuple[str, ...] = (),
) -> pl.DataFrame | None:
    rel = path.relative_to(run_dir) if path.is_relative_to(run_dir) else path
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
    path = RunLayout(run_dir).classify
    df = _read_parquet(
        run_dir, path, CLASSIFY_COLUMNS, "the classification tables", missing, ("head",)
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
    path = RunLayout(run_dir).recommend
    return _read_parquet(run_dir, path, RECOMMEND_COLUMNS, "the recommendation tables", missing)


def read_labels(run_dir: Path, missing: list[str]) -> pl.DataFrame | None:
    """``ingested/labels.parquet`` (or a root ``labels.parquet``) as strings, or None."""
    path = RunLayout(run_dir).labels
    if not path.exists() and (run_dir / _ROOT_LABELS).exists():
        path = run_dir / _ROOT_LABELS
    df = _read_parquet(
        run_dir,
        path,
        ("user_id", "task", "label"),
        "the users' labels in the map and the cluster table",
        missing,
    )
    return None if df is None else df.select(pl.all().cast(pl.String))


def read_histories(run_dir: Path, missing: list[str]) -> pl.DataFrame | None:
    """``user_id, event_texts`` of ``histories.parquet``, or None (noted in ``missing``)."""
    return _read_parquet(
        run_dir,
        RunLayout(run_dir).histories,
        ("user_id", "event_texts"),
        "the clusters' distinctive words",
        missing,
    )


def read_embedding(
    run_dir: Path, missing: list[str], primary: str | None = None
) -> FeatureTable | None:
    """The primary feature table: ``features/<primary>`` if present, else the first (sorted)."""
    layout = RunLayout(run_dir)
    root = layout.features_root
    folders = sorted(p for p in root.iterdir() if p.is_dir()) if root.is_dir() else []
    if not folders:
        missing.append("features/: no feature table, so the map and the clusters are left out.")
        return None
    chosen = layout.features(primary) if primary else None
    if chosen is not None and chosen not in folders:
        missing.append(f"features/{primary}: not found; the map shows features/{folders[0].name}.")
    folder = chosen if chosen in folders else folders[0]
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
    for path in sorted(RunLayout(run_dir).models.glob("*/metrics.jsonl")):
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
    info = RunLayout(run_dir).read_run_info()
    missing: list[str] = []
    labels = read_labels(run_dir, missing)
    present = [] if labels is None else labels["task"].unique(maintain_order=True).to_list()
    tasks = [t for t in info.get("tasks") or present if t in present]
    colour_by = info.get("colour_by") if "colour_by" in info else (tasks[0] if tasks else None)
    return RunInputs(
        run_dir=run_dir,
        classify=read_classify(run_dir, missing),
        recommend=read_recommend(run_dir, missing),
        embedding=read_embedding(run_dir, missing, info.get("primary")),
        labels=labels,
        tasks=tasks,
        colour_by=colour_by if colour_by in tasks else None,
        strip_pattern=info.get("strip_pattern"),
        histories=read_histories(run_dir, missing),
        curves=read_curves(run_dir, missing),
        missing=missing,
    )
