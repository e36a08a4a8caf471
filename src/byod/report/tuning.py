"""The report's "Tuning" section, read from the study folders ``byod tune`` wrote.

A study folder holds ``tuning.json`` and its PNG figures (written by
:func:`byod.tune.report.write_tuning_report`); this module only reads those files, so the report
needs neither Optuna nor the study's storage. Studies come from ``RUN/tuning/*/``
(:attr:`byod.layout.RunLayout.tuning`) and from folders passed to ``byod report --tuning``. A run
without studies gets no section at all.
"""

from __future__ import annotations

import dataclasses
import json
import math
import re
from pathlib import Path
from typing import Any

from byod.layout import RunLayout
from byod.report.page import Figure, Section
from byod.report.tables import Table

__all__ = ["TuningStudy", "find_studies", "read_studies", "tuning_sections"]

SUMMARY = "tuning.json"


@dataclasses.dataclass(frozen=True)
class TuningStudy:
    """One study as the report shows it.

    Attributes:
        folder: the study folder.
        summary: its ``tuning.json`` record.
        figures: ``{"history" | "importances": PNG bytes}`` (those that exist).
    """

    folder: Path
    summary: dict[str, Any]
    figures: dict[str, bytes]


def find_studies(run_dir: Path, extra: tuple[Path, ...] = ()) -> list[Path]:
    """Study folders to show: ``RUN/tuning/*/``, then ``extra`` (duplicates dropped).

    A folder under ``tuning/`` counts when it holds ``tuning.json`` or ``best_params.json``.
    """
    root = RunLayout(run_dir).tuning
    found = (
        sorted(
            p
            for p in root.iterdir()
            if p.is_dir() and ((p / SUMMARY).exists() or (p / "best_params.json").exists())
        )
        if root.is_dir()
        else []
    )
    out: list[Path] = []
    for p in [*found, *map(Path, extra)]:
        if p.resolve() not in {q.resolve() for q in out}:
            out.append(p)
    return out


def read_studies(folders: list[Path], missing: list[str]) -> list[TuningStudy]:
    """Each folder's ``tuning.json`` and figures; an unusable folder is noted in ``missing``."""
    studies = []
    for folder in folders:
        path = folder / SUMMARY
        try:
            summary = json.loads(path.read_text(encoding="utf-8"))
            best = summary["best"]
            float(best["value"]), best["params"], summary["study"]  # noqa: B018 (shape check)
        except FileNotFoundError:
            missing.append(
                f"{folder}: no {SUMMARY} (the study has not finished); run `byod tune` with "
                f"--out {folder} again, so its Tuning section is left out."
            )
            continue
        except (OSError, ValueError, KeyError, TypeError) as exc:
            missing.append(f"{path}: unreadable ({type(exc).__name__}), so its study is left out.")
            continue
        figures = {}
        for key, name in (summary.get("figures") or {}).items():
            png = folder / str(name)
            if png.is_file():
                figures[key] = png.read_bytes()
        studies.append(TuningStudy(folder, summary, figures))
    return studies


def _fmt(value: Any) -> str:
    if isinstance(value, float):
        return "—" if math.isnan(value) else f"{value:.4g}"
    if isinstance(value, list):
        return " + ".join(map(str, value)) if value else "(none)"
    if isinstance(value, dict):
        return ", ".join(f"{k} {_fmt(v)}" for k, v in value.items())
    return "—" if value is None else str(value)


def _metrics_table(summary: dict[str, Any]) -> Table | None:
    tuned = summary.get("tuned") or {}
    base = (summary.get("defaults") or {}).get("test") or {}
    if not tuned:
        return None
    rows, bold = [], set()
    for i, (metric, value) in enumerate(tuned.items()):
        default = base.get(metric, math.nan)
        rows.append([metric, _score(default), _score(value), _delta(value, default)])
        if not math.isnan(default):
            bold.add((i, 2 if value >= default else 1))  # the better of the two
    return Table(
        ["metric (test users)", "defaults", "tuned", "tuned − defaults"],
        rows,
        frozenset(bold),
        "Both heads fitted on the same training users and scored once on the same test users, "
        "which no trial saw.",
    )


def _score(value: Any) -> str:
    value = float(value)
    return "—" if math.isnan(value) else f"{value:.4f}"


def _delta(value: float, default: float) -> str:
    return "—" if math.isnan(default) else f"{value - default:+.4f}"


def _params_table(summary: dict[str, Any]) -> Table:
    best = summary["best"]
    defaults = (summary.get("defaults") or {}).get("params") or {}
    names = list(best["params"]) + [n for n in defaults if n not in best["params"]]
    rows = [[n, _fmt(defaults.get(n)), _fmt(best["params"].get(n))] for n in names]
    return Table(
        ["parameter", "defaults", f"best trial ({best['trial']})"],
        rows,
        caption="— : not set by that side.",
    )


def _slug(name: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.-]+", "-", name).strip("-") or "study"


def _study_section(study: TuningStudy, index: int) -> tuple[Section, list[Figure]]:
    s = study.summary
    best, metric = s["best"], s.get("metric", "objective")
    states = ", ".join(f"{n} {k}" for k, n in (s.get("states") or {}).items())
    rule = {
        "one-se": "the simplest trial within one standard error of the best CV score",
        "beat-default": "the best CV score, if it beats the defaults beyond the noise",
    }.get(best.get("select"), "the best CV score")
    intro = (
        f"Study {s['study']} ({study.folder.name}/): {s.get('n_trials', '?')} trials ({states}); "
        f"trial {best['trial']} was chosen ({rule}): CV {metric} {float(best['value']):.4f} on "
        "the training users."
    )
    if "default_cv" in best:
        kept = best["defaults_kept"]
        intro += (
            f" Against the default head on the same splits (CV {best['default_cv']:.4f}) it gains "
            f"{best['paired_gain']:+.4f} ± {best['paired_se']:.4f} (paired standard error): "
            + (
                "within the noise, so the defaults were kept."
                if kept
                else "the tuned head is used."
            )
        )
    blocks: list[Any] = [intro]
    if (table := _metrics_table(s)) is not None:
        blocks.append(table)
    blocks.append(_params_table(s))
    slug, figures = _slug(study.folder.name), []
    if "history" in study.figures:
        figures.append(
            Figure(
                f"tuning-{index}-{slug}-history.png",
                study.figures["history"],
                f"Optimisation history of {s['study']}",
                f"CV {metric} per trial (dots; crosses: pruned trials at their last report) and "
                "the best so far (line).",
            )
        )
    if "importances" in study.figures:
        figures.append(
            Figure(
                f"tuning-{index}-{slug}-importances.png",
                study.figures["importances"],
                f"Parameter importances of {s['study']}",
                "fANOVA: the share of the CV score's variance over the trials that each "
                "parameter explains (what mattered in this search, not a causal effect).",
            )
        )
    else:
        blocks.append("Parameter importances need 3 complete trials with varied values.")
    blocks.extend(figures)
    title = f"{s.get('task') or s['study']} ({s.get('head') or 'study'})"
    return Section(f"tuning-{index}", title, blocks, level=3), figures


def tuning_sections(studies: list[TuningStudy]) -> tuple[list[Section], list[Figure]]:
    """The "Tuning" section and one subsection per study; nothing when there is no study."""
    if not studies:
        return [], []
    sections = [
        Section(
            "tuning",
            "Tuning",
            [
                "Hyper-parameters searched by byod tune (Optuna): every trial is scored by "
                "cross-validation on training users only; the chosen trial is refitted and, "
                "with the default settings, scored once on the test users."
            ],
        )
    ]
    figures: list[Figure] = []
    for i, study in enumerate(studies):
        section, figs = _study_section(study, i)
        sections.append(section)
        figures.extend(figs)
    return sections, figures
