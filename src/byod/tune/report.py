"""The "Tuning" report fragment: optimisation history, parameter importances, best vs defaults.

:func:`tuning_section` returns the fragment (Markdown and self-contained HTML, figures as PNG
bytes) for a report to embed; :func:`write_tuning_report` writes it into the study folder as
``tuning.md`` (+ ``tuning_history.png``, ``tuning_importances.png``) and ``tuning.html`` (figures
inlined), and the same content as data in ``tuning.json`` (the run report reads that file and the
PNGs, never the study's storage: ``byod.report`` sits below ``byod.tune``). Figures are built with
``matplotlib.figure.Figure`` (no pyplot state).

``tuning.json``::

    {"study": "head-gender-logistic", "metric": "auroc", "n_trials": 30,
     "states": {"complete": 28, "pruned": 2}, "head": "logistic", "task": "gender",
     "best": {"trial": 17, "value": 0.8588, "params": {...}, "select": "best"},
                                                 # + defaults_kept, default_cv, paired_gain,
                                                 #   paired_se under --select beat-default
     "importances": {"C": 0.61, ...},            # fANOVA; {} below 3 varied complete trials
     "defaults": {"params": {...}, "test": {metric: value}} | null,
     "tuned": {metric: value} | null,            # test users, scored once
     "figures": {"history": "tuning_history.png", "importances": "tuning_importances.png"}}
"""

from __future__ import annotations

import base64
import dataclasses
import html
import io
import json
import math
from pathlib import Path
from typing import Any

import optuna
from matplotlib.figure import Figure
from optuna.trial import TrialState

from byod.atomic import atomic_path, write_json, write_text
from byod.errors import ConfigError
from byod.tune.study import open_storage

__all__ = ["TuningSection", "tuning_section", "write_tuning_report"]


@dataclasses.dataclass
class TuningSection:
    """A rendered "Tuning" section.

    Attributes:
        markdown: the section, figures referenced as ``tuning_history.png`` and
            ``tuning_importances.png``.
        html: the same section, figures inlined as base64 PNG (one self-contained fragment).
        figures: ``{file name: PNG bytes}``.
        summary: the section as data (the ``tuning.json`` record, see the module docstring).
    """

    markdown: str
    html: str
    figures: dict[str, bytes]
    summary: dict[str, Any] = dataclasses.field(default_factory=dict)


def _load(study_dir: Path, storage: str | None) -> tuple[optuna.Study, dict[str, Any]]:
    best_path = study_dir / "best_params.json"
    if not best_path.exists():
        raise ConfigError(f"{study_dir}: no best_params.json; run `byod tune` into it first")
    best = json.loads(best_path.read_text(encoding="utf-8"))
    storage = storage or best.get("storage")  # where the study recorded itself
    study = optuna.load_study(study_name=best["study"], storage=open_storage(study_dir, storage))
    return study, best


def _png(fig: Figure) -> bytes:
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=110, bbox_inches="tight")
    return buf.getvalue()


def history_figure(study: optuna.Study, metric: str) -> bytes:
    """Objective per trial (complete: dots; pruned: crosses at their last report), best so far."""
    fig = Figure(figsize=(6, 3.2))
    ax = fig.add_subplot()
    best, xs, ys, bx, by, px, py = -math.inf, [], [], [], [], [], []
    for t in study.get_trials(deepcopy=False):
        if t.state == TrialState.COMPLETE and t.value is not None:
            xs.append(t.number)
            ys.append(t.value)
            best = max(best, t.value)
            bx.append(t.number)
            by.append(best)
        elif t.state == TrialState.PRUNED and t.intermediate_values:
            px.append(t.number)
            py.append(t.intermediate_values[max(t.intermediate_values)])
    ax.scatter(xs, ys, s=14, label="complete")
    if px:
        ax.scatter(px, py, s=18, marker="x", color="tab:red", label="pruned (last report)")
    ax.step(bx, by, where="post", color="black", lw=1.2, label="best so far")
    ax.set_xlabel("trial")
    ax.set_ylabel(metric)
    ax.set_title("Optimisation history")
    ax.legend(fontsize=8, loc="best")
    return _png(fig)


def _importances(study: optuna.Study) -> dict[str, float]:
    done = study.get_trials(deepcopy=False, states=(TrialState.COMPLETE,))
    if len(done) < 3:
        return {}
    try:
        evaluator = optuna.importance.FanovaImportanceEvaluator(seed=0)
        return optuna.importance.get_param_importances(study, evaluator=evaluator)
    except (RuntimeError, ValueError):  # e.g. every trial drew the same values
        return {}


def importance_figure(importances: dict[str, float]) -> bytes:
    """Horizontal bars of fANOVA importances (largest on top)."""
    fig = Figure(figsize=(6, 0.35 * max(len(importances), 2) + 1))
    ax = fig.add_subplot()
    names = list(importances)[::-1]
    ax.barh(names, [importances[n] for n in names], color="tab:blue")
    ax.set_xlabel("importance (fANOVA)")
    ax.set_title("Parameter importances")
    return _png(fig)


def _compare(defaults: dict[str, Any] | None, tuned: dict[str, float] | None) -> list[str]:
    if not defaults or not tuned:
        return []
    base = defaults.get("test", {})
    users = defaults.get("users", "test users")  # a pretrain study's probe users
    lines = ["", f"| metric ({users}) | defaults | tuned |", "|---|---:|---:|"]
    lines += [f"| {m} | {base.get(m, float('nan')):.4f} | {v:.4f} |" for m, v in tuned.items()]
    return lines


# What the beat-default rule records (byod.tune.headstudy): whether the defaults were kept.
_GUARD = ("defaults_kept", "default_cv", "paired_gain", "paired_se")


def _summary(
    best: dict[str, Any],
    n_trials: int,
    counts: dict[str, int],
    importances: dict[str, float],
    defaults: dict[str, Any] | None,
    tuned: dict[str, float] | None,
) -> dict[str, Any]:
    """The ``tuning.json`` record (plain JSON types only)."""
    figures = {"history": "tuning_history.png"}
    if importances:
        figures["importances"] = "tuning_importances.png"
    return json.loads(
        json.dumps(
            {
                "study": best["study"],
                "metric": best.get("metric", "objective"),
                "n_trials": n_trials,
                "states": {k: n for k, n in counts.items() if n},
                "head": best.get("head"),
                "task": best.get("task"),
                "best": {
                    "trial": best["trial"],
                    "value": best["value"],
                    "params": best["params"],
                    "select": best.get("select", "best"),
                    **{k: best[k] for k in _GUARD if k in best},
                },
                "importances": {k: float(v) for k, v in importances.items()},
                "defaults": defaults,
                "tuned": tuned,
                "figures": figures,
            },
            default=str,
        )
    )


def tuning_section(
    study_dir: str | Path,
    *,
    storage: str | None = None,
    defaults: dict[str, Any] | None = None,
    tuned: dict[str, float] | None = None,
) -> TuningSection:
    """The "Tuning" section of the study in ``study_dir``.

    Args:
        study_dir: a folder written by ``byod tune`` (``best_params.json`` + its storage).
        storage: the RDB URL when the study is not in ``study_dir/journal.log``.
        defaults: ``{"test": {metric: value}}`` of the default settings, shown beside ``tuned``.
        tuned: the tuned settings' test metrics.
    """
    study_dir = Path(study_dir)
    study, best = _load(study_dir, storage)
    metric = best.get("metric", "objective")
    counts = {s.name.lower(): 0 for s in (TrialState.COMPLETE, TrialState.PRUNED, TrialState.FAIL)}
    for t in study.get_trials(deepcopy=False):
        key = t.state.name.lower()
        counts[key] = counts.get(key, 0) + 1
    figures = {"tuning_history.png": history_figure(study, metric)}
    importances = _importances(study)
    if importances:
        figures["tuning_importances.png"] = importance_figure(importances)
    params = json.dumps(best["params"], default=str)
    md = [
        "## Tuning",
        "",
        f"Study `{best['study']}`: {len(study.trials)} trials ("
        + ", ".join(f"{n} {k}" for k, n in counts.items() if n)
        + f"); best trial {best['trial']} ({metric} {best['value']:.4f}).",
        "",
        f"Best parameters: `{params}`",
        *_compare(defaults, tuned),
        "",
        "![optimisation history](tuning_history.png)",
    ]
    if importances:
        md += ["", "![parameter importances](tuning_importances.png)"]
    else:
        md += ["", "(parameter importances need 3 complete trials with varied values)"]
    markdown = "\n".join(md) + "\n"
    summary = _summary(best, len(study.trials), counts, importances, defaults, tuned)
    return TuningSection(markdown, _html(markdown, figures), figures, summary)


def _html(markdown: str, figures: dict[str, bytes]) -> str:
    """A minimal, self-contained rendering of :func:`tuning_section`'s Markdown."""
    out, table = ["<section id='tuning'>"], []
    for line in markdown.splitlines():
        if line.startswith("|"):
            cells = [c.strip() for c in line.strip("|").split("|")]
            if not set("".join(cells)) <= set("-:"):
                table.append(cells)
            continue
        if table:
            head, *body = table
            out.append(
                "<table><tr>" + "".join(f"<th>{html.escape(c)}</th>" for c in head) + "</tr>"
            )
            out += [
                "<tr>" + "".join(f"<td>{html.escape(c)}</td>" for c in r) + "</tr>" for r in body
            ]
            out.append("</table>")
            table = []
        if line.startswith("## "):
            out.append(f"<h2>{html.escape(line[3:])}</h2>")
        elif line.startswith("!["):
            name = line[line.index("(") + 1 : -1]
            data = base64.b64encode(figures[name]).decode("ascii")
            out.append(f"<img alt='{html.escape(name)}' src='data:image/png;base64,{data}'>")
        elif line.strip():
            out.append(f"<p>{html.escape(line).replace('`', '')}</p>")
    return "\n".join([*out, "</section>"]) + "\n"


def write_tuning_report(
    study_dir: str | Path,
    *,
    storage: str | None = None,
    defaults: dict[str, Any] | None = None,
    tuned: dict[str, float] | None = None,
) -> Path:
    """Write ``tuning.md``, its PNGs, ``tuning.json`` and a self-contained ``tuning.html``.

    Returns:
        The HTML path. A run report shows the study when its folder is ``RUN/tuning/NAME``
        (:attr:`byod.layout.RunLayout.tuning`) or is passed to ``byod report --tuning``.
    """
    study_dir = Path(study_dir)
    section = tuning_section(study_dir, storage=storage, defaults=defaults, tuned=tuned)
    for name, data in section.figures.items():
        with atomic_path(study_dir / name) as tmp:
            tmp.write_bytes(data)
    write_text(section.markdown, study_dir / "tuning.md")
    write_json(section.summary, study_dir / "tuning.json")
    page = (
        "<!doctype html><html><head><meta charset='utf-8'><title>Tuning</title></head><body>\n"
        + section.html
        + "</body></html>\n"
    )
    return write_text(page, study_dir / "tuning.html")
