"""Search spaces: validated YAML with per-head defaults, sampled through an Optuna trial.

A space file names what may vary and how (the defaults live in ``byod/tune/spaces/*.yaml``)::

    head: logistic
    cv: 3
    params:
      C: {type: float, low: 1.0e-3, high: 1.0e+2, log: true}
      scaling: {type: categorical, choices: [auto, column, block]}
      blocks: {type: subset}          # the table's blocks, at least one kept

Parameter types: ``float`` / ``int`` (``low``, ``high``, optional ``log``, ``step``),
``categorical`` (``choices``), ``subset`` (one yes/no per choice, at least one yes; ``choices``
default to what the data offers, e.g. the table's blocks) and ``weights`` (one weight in
``[low, high]`` per choice, zero weights dropped, at least one kept: objective mixtures).
Unknown keys and parameters fail with the list of valid ones.
"""

from __future__ import annotations

import dataclasses
from importlib import resources
from pathlib import Path
from typing import Any

import optuna
import yaml

from byod.errors import ConfigError

__all__ = ["ParamSpec", "SearchSpace", "load_space", "default_space", "TUNABLE"]

# What each study may vary (the keys a space's ``params`` may use).
TUNABLE: dict[str, tuple[str, ...]] = {
    "logistic": ("C", "scaling", "blocks"),
    "mlp": ("hidden", "depth", "alpha", "lr", "epochs", "scaling", "blocks"),
    "recommend": (
        "kind", "dim", "hidden", "pair_hidden", "n_negatives", "epochs", "batch_size", "lr",
        "weight_decay", "patience", "last_item",
    ),
    "pretrain": (
        "objective_weights", "lr", "weight_decay", "batch_size", "max_events", "min_events",
        "dim", "layers", "heads", "dropout", "temperature",
    ),
}  # fmt: skip
# Top-level keys of a space file, per study kind.
_TOP = {
    "head": ("head", "cv", "params"),
    "recommend": ("head", "params"),
    "pretrain": ("epochs", "probe_every", "base", "params"),
}
_TYPES = ("float", "int", "categorical", "subset", "weights")
_PARAM_KEYS = ("type", "low", "high", "log", "step", "choices")


@dataclasses.dataclass(frozen=True)
class ParamSpec:
    """One searched parameter (see the module docstring for the types)."""

    name: str
    type: str
    low: float | None = None
    high: float | None = None
    log: bool = False
    step: float | None = None
    choices: tuple[Any, ...] | None = None

    def suggest(self, trial: optuna.Trial, offered: tuple[str, ...] = ()) -> Any:
        """Draw this parameter from ``trial``; ``offered`` fills ``choices`` of a subset."""
        if self.type == "float":
            return trial.suggest_float(self.name, self.low, self.high, log=self.log, step=self.step)
        if self.type == "int":
            step = int(self.step or 1)
            return trial.suggest_int(
                self.name, int(self.low), int(self.high), log=self.log, step=step
            )
        if self.type == "categorical":
            return trial.suggest_categorical(self.name, list(self.choices))
        choices = tuple(self.choices or offered)
        if self.type == "subset":
            if len(choices) == 1:  # nothing to choose
                return list(choices)
            kept = [
                c for c in choices if trial.suggest_categorical(f"{self.name}.{c}", [True, False])
            ]
            if not kept:
                raise optuna.TrialPruned(f"{self.name}: no choice kept")
            return kept
        low, high = (0.0, 1.0) if self.low is None else (self.low, self.high)
        weights = {c: trial.suggest_float(f"{self.name}.{c}", low, high) for c in choices}
        kept = {c: round(w, 3) for c, w in weights.items() if round(w, 3) > 0}
        if not kept:
            raise optuna.TrialPruned(f"{self.name}: every weight is zero")
        return kept


@dataclasses.dataclass(frozen=True)
class SearchSpace:
    """A validated space: the study kind, its settings (``cv``, ``epochs`` ...) and parameters."""

    kind: str
    settings: dict[str, Any]
    params: tuple[ParamSpec, ...]

    def suggest(self, trial: optuna.Trial, offered: tuple[str, ...] = ()) -> dict[str, Any]:
        """Every parameter drawn from ``trial`` as ``{name: value}``."""
        return {p.name: p.suggest(trial, offered) for p in self.params}

    def to_json(self) -> dict[str, Any]:
        """The space as plain data (kept in the study's user attributes and cards)."""
        return {
            "kind": self.kind,
            **self.settings,
            "params": {p.name: _compact(p) for p in self.params},
        }


def _compact(p: ParamSpec) -> dict[str, Any]:
    out = {k: v for k, v in dataclasses.asdict(p).items() if v not in (None, False)}
    out.pop("name")
    if "choices" in out:
        out["choices"] = list(out["choices"])
    return out


def _unknown(raw: dict[str, Any], valid: tuple[str, ...], where: str) -> None:
    bad = sorted(set(raw) - set(valid), key=str)
    if bad:
        raise ConfigError(f"{where}: unknown key {bad[0]!r}; valid keys are {list(valid)}")


def _param(name: str, raw: Any, where: str) -> ParamSpec:
    if not isinstance(raw, dict):
        raise ConfigError(f"{where}.{name}: expected a mapping like {{type: float, low: ..}}")
    _unknown(raw, _PARAM_KEYS, f"{where}.{name}")
    kind = raw.get("type")
    if kind not in _TYPES:
        raise ConfigError(f"{where}.{name}: type must be one of {list(_TYPES)}, got {kind!r}")
    if kind in ("float", "int"):
        if "low" not in raw or "high" not in raw:
            raise ConfigError(f"{where}.{name}: a {kind} needs low and high")
        low, high = float(raw["low"]), float(raw["high"])
        if not low < high or (raw.get("log") and low <= 0):
            raise ConfigError(
                f"{where}.{name}: need 0 < low < high on a log scale, low < high else"
            )
    if kind == "categorical" and not raw.get("choices"):
        raise ConfigError(f"{where}.{name}: a categorical needs a non-empty list of choices")
    choices = raw.get("choices")
    return ParamSpec(
        name=name,
        type=kind,
        low=float(raw["low"]) if "low" in raw else None,
        high=float(raw["high"]) if "high" in raw else None,
        log=bool(raw.get("log", False)),
        step=float(raw["step"]) if raw.get("step") is not None else None,
        choices=tuple(choices) if choices else None,
    )


def parse_space(raw: dict[str, Any], kind: str, where: str = "search space") -> SearchSpace:
    """Validate a space mapping for ``kind`` (``logistic``, ``mlp`` or ``pretrain``).

    Raises:
        ConfigError: an unknown key or parameter (the message lists the valid ones), a bad range.
    """
    if kind not in TUNABLE:
        raise ConfigError(f"no search space for {kind!r}; choose one of {list(TUNABLE)}")
    if not isinstance(raw, dict):
        raise ConfigError(f"{where}: expected a mapping with a `params` section")
    group = kind if kind in _TOP else "head"
    _unknown(raw, _TOP[group], where)
    if group != "pretrain" and raw.get("head", kind) != kind:
        raise ConfigError(f"{where}: written for head {raw['head']!r}, used with --head {kind}")
    params = raw.get("params") or {}
    if not isinstance(params, dict) or not params:
        raise ConfigError(f"{where}: `params` must map parameter names to their ranges")
    _unknown(params, TUNABLE[kind], f"{where}.params")
    settings = {k: v for k, v in raw.items() if k not in ("params", "head", "base")}
    for key, value in settings.items():
        if not isinstance(value, int) or value < 1:
            raise ConfigError(f"{where}.{key}: expected a positive integer, got {value!r}")
    if "base" in raw:  # pretrain: PretrainConfig keys every trial starts from
        if not isinstance(raw["base"], dict):
            raise ConfigError(f"{where}.base: expected a mapping of pretrain settings")
        settings["base"] = dict(raw["base"])
    specs = tuple(_param(name, spec, f"{where}.params") for name, spec in params.items())
    return SearchSpace(kind, settings, specs)


def default_space(kind: str, variant: str | None = None) -> SearchSpace:
    """The packaged default space of ``kind`` (``byod/tune/spaces/KIND[-VARIANT].yaml``).

    ``variant``: ``next-item`` gives the pretrain space of the next-item objective.
    """
    if kind not in TUNABLE:
        raise ConfigError(f"no search space for {kind!r}; choose one of {list(TUNABLE)}")
    name = f"{kind}-{variant}" if variant else kind
    text = resources.files("byod.tune").joinpath("spaces", f"{name}.yaml").read_text("utf-8")
    return parse_space(yaml.safe_load(text), kind, where=f"default {name} space")


def load_space(path: str | Path | None, kind: str, variant: str | None = None) -> SearchSpace:
    """The space in the YAML file ``path`` (``None``: the default of ``kind`` / ``variant``)."""
    if path is None:
        return default_space(kind, variant)
    path = Path(path)
    if not path.is_file():
        raise ConfigError(f"{path}: search-space file not found")
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as exc:
        raise ConfigError(f"{path}: not valid YAML ({exc.__class__.__name__})") from None
    return parse_space(raw, kind, where=str(path))
