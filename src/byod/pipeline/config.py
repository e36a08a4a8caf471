"""The pipeline's one config: which tables, which encoders, which heads (loadable from YAML).

Example (``byod run pipeline.yaml``; every key is optional, paths are relative to the file)::

    events: out/events.parquet        # ingested events (default: RUN/ingested/events.parquet)
    labels: labels.parquet            # user_id + label columns, or user_id, task, label
    items: items.parquet              # item_id, item_text (default: an item's first event text)
    tasks: [gender, age]              # label columns to classify (default: all of them)
    backbone: minilm
    epochs: 10
    encoders:
      - {name: clue, objective: clue, classify_heads: [logistic, mlp]}
      - {name: zero-shot, objective: zero-shot}
    blocks: [learned, svd, aggregates]
    recommend_heads: [mlp]
    seeds: 5
    primary: clue                     # the source the report maps and clusters
    colour_by: age                    # the label the report's map colours by
    strip_pattern: null               # a regex removed from event texts before cluster words

Unknown keys fail with the list of valid keys.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any

import yaml

from byod.errors import ConfigError, check_keys
from byod.features.blocks import DEFAULT_BLOCKS

__all__ = ["EncoderSpec", "PipelineConfig", "load_pipeline_config", "UNTRAINED"]

UNTRAINED = ("zero-shot", "random")  # encoders built without training (baselines)
# PretrainConfig keys an encoder may set (objective and backbone have their own keys; the
# training loop's come from the pipeline's `epochs` and `train`).
PRETRAIN_KEYS = ("item_ids", "encoder", "views", "loss", "optimizer", "patience", "max_events")


@dataclasses.dataclass(frozen=True)
class EncoderSpec:
    """One feature source of the comparison.

    Attributes:
        name: its name in the result tables and its folder under ``models/`` / ``features/``.
        objective: a pretraining objective (``clue``, ``simclr``, ``next``, ``clue:1,slices:1``
            ...) or an untrained baseline (``zero-shot``, ``random``).
        service: train on, and embed from, this service's events only (None: all services).
        classify_heads: heads fitted on its features per label column (``logistic``, ``mlp``).
        pretrain: further :class:`~byod.pretrain.run.PretrainConfig` keys for this encoder
            (``item_ids``, ``encoder``, ``views``, ``loss``, ``optimizer``, ``patience``,
            ``max_events``), e.g. ``{item_ids: hashed}``.
    """

    name: str
    objective: str
    service: str | None = None
    classify_heads: tuple[str, ...] = ("logistic",)
    pretrain: dict[str, Any] = dataclasses.field(default_factory=dict)

    def __post_init__(self) -> None:
        if not self.name or "/" in self.name:
            raise ConfigError(f"encoder name must be a plain folder name, got {self.name!r}")
        object.__setattr__(self, "classify_heads", tuple(self.classify_heads))
        check_keys(self.pretrain, PRETRAIN_KEYS, f"encoder {self.name}: pretrain")
        if self.pretrain and not self.trained:
            raise ConfigError(f"encoder {self.name}: an untrained baseline takes no `pretrain`")

    @property
    def trained(self) -> bool:
        """Whether this encoder is pretrained (not an untrained baseline)."""
        return self.objective not in UNTRAINED


@dataclasses.dataclass(frozen=True)
class PipelineConfig:
    """Everything :func:`byod.pipeline.run_pipeline` does, in one frozen object.

    Attributes:
        events: ingested events Parquet (None: ``RunLayout.events``).
        labels: labels Parquet, wide (``user_id`` + one column per label) or long
            (``user_id, task, label``); None: ``RunLayout.labels`` when it exists, else no labels.
        items: ``item_id, item_text`` Parquet for the next-item task (None: ``RunLayout.items``
            when it exists, else each item's first event text).
        tasks: the label columns classified (None: every one in ``labels``).
        backbone: the event-text backbone of every encoder.
        epochs: pretraining epochs of each trained encoder.
        train: further ``TrainConfig`` keys for pretraining (``max_steps``, ``batch_size``, ...).
        max_events: events per (user, service) history written to ``histories.parquet``.
        encoders: the feature sources compared.
        blocks: feature blocks written beside each encoder's vector (``learned`` first);
            ``("learned",)`` for none.
        svd_dim: components of the ``svd`` block.
        seeds: user splits per classification task.
        recommend_heads: next-item heads per encoder (``mlp``, ``dot``); ``()`` skips next-item.
        recommend: further ``RecommendConfig`` keys (``epochs``, ``dim``, ...).
        n_negatives: sampled negatives of the next-item protocol.
        baselines: evaluate the baselines (majority, tuned TF-IDF, popularity, item-kNN, ...).
        sample_users: keep a seeded random sample of this many users (None: all).
        primary: the source the report maps and clusters (None: the first encoder).
        colour_by: the label column the report's map colours by (None: the first task).
        strip_pattern: a regex removed from event texts before the report's cluster words.
        report: write the report at the end.
        device: ``cpu`` or ``cuda`` for pretraining and embedding.
        n_jobs: processes for the classification heads' CV folds (-1: every core).
        seed: seeds the user sample.
    """

    events: Path | None = None
    labels: Path | None = None
    items: Path | None = None
    tasks: tuple[str, ...] | None = None
    backbone: str = "minilm"
    epochs: int = 10
    train: dict[str, Any] = dataclasses.field(default_factory=dict)
    max_events: int = 256
    encoders: tuple[EncoderSpec, ...] = (
        EncoderSpec("clue", "clue", classify_heads=("logistic", "mlp")),
        EncoderSpec("zero-shot", "zero-shot"),
    )
    blocks: tuple[str, ...] = DEFAULT_BLOCKS
    svd_dim: int = 128
    seeds: int = 5
    recommend_heads: tuple[str, ...] = ("mlp",)
    recommend: dict[str, Any] = dataclasses.field(default_factory=dict)
    n_negatives: int = 100
    baselines: bool = True
    sample_users: int | None = None
    primary: str | None = None
    colour_by: str | None = None
    strip_pattern: str | None = None
    report: bool = True
    device: str = "cpu"
    n_jobs: int | None = -1
    seed: int = 0

    def __post_init__(self) -> None:
        if not self.encoders:
            raise ConfigError("encoders: give at least one encoder")
        names = [e.name for e in self.encoders]
        if len(set(names)) != len(names):
            raise ConfigError(f"encoders: names must be distinct, got {names}")
        if self.primary is not None and self.primary not in names:
            raise ConfigError(f"primary: {self.primary!r} is not an encoder; choose from {names}")
        if not self.blocks or self.blocks[0] != "learned":
            raise ConfigError(f"blocks must start with 'learned', got {list(self.blocks)}")
        for key in ("epochs", "seeds", "max_events", "svd_dim", "n_negatives"):
            if getattr(self, key) < 1:
                raise ConfigError(f"{key} must be at least 1, got {getattr(self, key)}")
        if self.sample_users is not None and self.sample_users < 2:
            raise ConfigError(f"sample_users must be at least 2, got {self.sample_users}")

    @property
    def primary_source(self) -> str:
        """The source the report maps: ``primary``, else the first encoder."""
        return self.primary or self.encoders[0].name

    def to_json(self) -> dict[str, Any]:
        """A JSON-ready dict (paths as strings), as ``run.json`` keeps it."""
        raw = dataclasses.asdict(self)
        return {k: str(v) if isinstance(v, Path) else v for k, v in raw.items()}

    @classmethod
    def from_dict(
        cls, raw: dict[str, Any], *, base: Path | None = None, where: str = "pipeline config"
    ) -> PipelineConfig:
        """Build from a mapping; relative paths resolve against ``base``.

        Raises:
            ConfigError: unknown keys (the message lists the valid ones) or bad values.
        """
        if not isinstance(raw, dict):
            raise ConfigError(f"{where}: expected a mapping of keys, got {type(raw).__name__}")
        check_keys(raw, [f.name for f in dataclasses.fields(cls)], where)
        values = dict(raw)
        for key in ("events", "labels", "items"):
            if values.get(key) is not None:
                path = Path(values[key])
                values[key] = path if base is None or path.is_absolute() else base / path
        for key in ("tasks", "blocks", "recommend_heads"):
            if values.get(key) is not None:
                values[key] = tuple(_strings(values[key], f"{where}: {key}"))
        if "encoders" in values:
            values["encoders"] = tuple(
                _encoder(e, f"{where}: encoders[{i}]") for i, e in enumerate(values["encoders"])
            )
        try:
            return cls(**values)
        except TypeError as exc:  # a section of the wrong shape
            raise ConfigError(f"{where}: {exc}") from exc


def _strings(value: Any, where: str) -> list[str]:
    if isinstance(value, str):
        return [v.strip() for v in value.split(",") if v.strip()]
    if isinstance(value, list | tuple) and all(isinstance(v, str) for v in value):
        return list(value)
    raise ConfigError(f"{where}: expected a list of names, got {value!r}")


def _encoder(raw: Any, where: str) -> EncoderSpec:
    if not isinstance(raw, dict):
        raise ConfigError(f"{where}: expected a mapping, e.g. {{name: clue, objective: clue}}")
    check_keys(raw, [f.name for f in dataclasses.fields(EncoderSpec)], where)
    if "name" not in raw or "objective" not in raw:
        raise ConfigError(f"{where}: needs `name` and `objective`")
    heads = raw.get("classify_heads", ("logistic",))
    overrides = raw.get("pretrain") or {}
    if not isinstance(overrides, dict):
        raise ConfigError(f"{where}: pretrain: expected a mapping, e.g. {{item_ids: hashed}}")
    return EncoderSpec(
        name=str(raw["name"]),
        objective=str(raw["objective"]),
        service=raw.get("service"),
        classify_heads=tuple(_strings(heads, f"{where}: classify_heads")),
        pretrain=dict(overrides),
    )


def load_pipeline_config(path: str | Path) -> PipelineConfig:
    """Read a pipeline YAML file (paths in it are relative to its folder).

    Raises:
        ConfigError: missing file, invalid YAML, unknown keys, bad values.
    """
    path = Path(path)
    if not path.is_file():
        raise ConfigError(f"{path}: config file not found")
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except (yaml.YAMLError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{path}: not valid YAML ({str(exc).splitlines()[0]})") from exc
    return PipelineConfig.from_dict(raw, base=path.parent.resolve(), where=path.name)
