"""``byod tune``: Optuna studies for heads and pretraining, and the dashboard over them."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from byod.cli._common import byod_home, console, say, user_errors
from byod.errors import ByodError

app = typer.Typer(
    help="Tune heads and pretraining with Optuna (resumable studies).", no_args_is_help=True
)

Out = Annotated[
    Path,
    typer.Option(
        "--out",
        help="Study folder (journal, outputs, report); RUN/tuning/NAME puts it in RUN's report.",
    ),
]
Space = Annotated[
    Path | None, typer.Option("--space", help="Search-space YAML (default: the packaged one).")
]
Trials = Annotated[int, typer.Option("--n-trials", min=1, help="Finished trials the study holds.")]
Timeout = Annotated[
    float | None, typer.Option("--timeout", min=1, help="Seconds this run may spend on trials.")
]
Sampler = Annotated[str, typer.Option(help="tpe | random.")]
Seed = Annotated[int, typer.Option(help="Sampler seed, user splits and heads.")]
Storage = Annotated[
    str | None,
    typer.Option(help="Journal file path (default OUT/journal.log) or an RDB URL (sqlite:///...)."),
]


@app.command()
@user_errors
def head(
    features: Annotated[Path, typer.Option(help="Feature-table folder (byod embed).")],
    labels: Annotated[Path, typer.Option(help="Labels Parquet: user_id, task, label.")],
    task: Annotated[str, typer.Option(help="The task to predict.")],
    out: Out,
    head: Annotated[str, typer.Option(help="logistic | mlp.")] = "logistic",
    space: Space = None,
    n_trials: Trials = 30,
    timeout: Timeout = None,
    sampler: Sampler = "tpe",
    seed: Seed = 0,
    metric: Annotated[
        str | None,
        typer.Option(help="auroc (2 classes) | macro_f1 | accuracy | balanced_accuracy."),
    ] = None,
    storage: Storage = None,
    version: Annotated[str | None, typer.Option(help="Feature-table version.")] = None,
    n_jobs: Annotated[
        int, typer.Option(min=1, help="Parallel trials (threads; a seed then no longer fixes it).")
    ] = 1,
    select: Annotated[
        str,
        typer.Option(
            help="best | one-se (the simplest trial within one standard error) | beat-default "
            "(keep the defaults unless the best trial beats them on the same CV splits)."
        ),
    ] = "best",
    backend: Annotated[
        str, typer.Option(help="local | ray (Ray Tune + Optuna's sampler; byod[ray]).")
    ] = "local",
    workers: Annotated[int, typer.Option(min=1, help="Trials at once on Ray.")] = 2,
) -> None:
    """Search a head's hyper-parameters by CV on training users; refit; compare with defaults."""
    from byod.data.schema import read_table
    from byod.features.table import read_feature_table
    from byod.serve.heads import export_classify_head
    from byod.transfer.classify import task_labels
    from byod.tune.heads import default_params
    from byod.tune.headstudy import HeadStudy, tune_head
    from byod.tune.report import write_tuning_report
    from byod.tune.space import load_space

    table = read_feature_table(features, version)
    rows, y = task_labels(read_table(labels, "labels"), task, table.user_ids)
    X, layout = table.matrix()  # noqa: N806
    cfg = HeadStudy(
        head=head, task=task, n_trials=n_trials, timeout=timeout, sampler=sampler, seed=seed,
        metric=metric, storage=storage, n_jobs=n_jobs, select=select, backend=backend,
        workers=workers,
    )  # fmt: skip
    res = tune_head(X[rows], y, layout, load_space(space, head), out, cfg)
    best = res.best
    card = {
        "kind": "classify",
        "task": task,
        "head": head,
        "blocks": res.layout.names,
        "table_version": table.metadata.get("version"),
        "tuning": {"study": best["study"], "trial": best["trial"], "folder": str(out),
                   "storage": storage or str(out / "journal.log"), "params": best["params"],
                   "cv_" + best["metric"]: best["value"],
                   "defaults_kept": bool(best.get("defaults_kept"))},
        "metrics": {k: {"mean": v, "std": 0.0} for k, v in res.test.items()},
        "default_metrics": res.default_test,
        "metrics_protocol": "one stratified test split of the labelled users (never tuned on); "
                            "the head is fitted on the training users",
    }  # fmt: skip
    export_classify_head(res.head, card).save(out / "head")
    defaults = {"params": default_params(head, layout), "test": res.default_test}
    report = write_tuning_report(out, defaults=defaults, tuned=res.test)
    m = best["metric"]
    console.print(
        f"best trial {best['trial']} of {best['n_trials']}: CV {m} {best['value']:.4f}; "
        f"test {m} {res.test[m]:.4f} tuned vs {res.default_test[m]:.4f} default "
        f"({res.seconds:.0f} s)"
    )
    console.print(f"params: {best['params']}", highlight=False)
    console.print(f"head: {out / 'head'}; study: {out}; report: {report}")


@app.command()
@user_errors
def recommend(
    features: Annotated[Path, typer.Option(help="Feature-table folder (byod embed).")],
    interactions: Annotated[
        Path,
        typer.Option(help="Interactions Parquet (user_id, item_id, item_text, timestamp, seq)."),
    ],
    out: Out,
    backbone: Annotated[
        str | None, typer.Option(help="Item-text backbone (default: the table's).")
    ] = None,
    space: Space = None,
    n_trials: Trials = 20,
    timeout: Timeout = None,
    sampler: Sampler = "tpe",
    seed: Seed = 0,
    storage: Storage = None,
) -> None:
    """Search next-item head options on validation targets; compare with defaults on test."""
    import dataclasses

    from safetensors.torch import save_file

    from byod.atomic import atomic_path, write_json
    from byod.data.schema import read_table
    from byod.encoders.backbone import open_backbone
    from byod.encoders.cache import EmbeddingCache
    from byod.features.table import read_feature_table
    from byod.transfer.nextitem import next_item_task
    from byod.transfer.run import item_vectors, table_source
    from byod.tune.headstudy import HeadStudy
    from byod.tune.recstudy import headline, tune_recommend
    from byod.tune.report import write_tuning_report
    from byod.tune.space import load_space

    table = read_feature_table(features)
    name = backbone or table.metadata.get("backbone")
    if not name:
        raise ByodError("the feature table names no backbone; pass --backbone")
    home = byod_home()
    text_model = open_backbone(name, models_dir=home / "models")
    cache = EmbeddingCache(home / "text-vectors", text_model.fingerprint, text_model.dim)
    task = next_item_task(read_table(interactions, "interactions"))
    vectors = item_vectors(task, text_model, cache, progress=True)
    cfg = HeadStudy(head="recommend", task="next-item", n_trials=n_trials, timeout=timeout,
                    sampler=sampler, seed=seed, storage=storage)  # fmt: skip
    res = tune_recommend(
        task, table_source(table.features), vectors, load_space(space, "recommend"), out, cfg
    )
    tuned, default = headline(res.test), headline(res.default_test)
    card = {
        "kind": "recommend",
        "config": dataclasses.asdict(res.config),
        "table_version": table.metadata.get("version"),
        "tuning": {"study": res.best["study"], "trial": res.best["trial"], "folder": str(out),
                   "params": res.best["params"], "valid_hr@10": res.best["value"]},
        "metrics": {"sampled-100/hr@10": tuned},
        "default_metrics": {"sampled-100/hr@10": default},
        "metrics_protocol": "leave-one-out test targets; static features (built from all events)",
    }  # fmt: skip
    folder = out / "head"
    folder.mkdir(parents=True, exist_ok=True)
    with atomic_path(folder / "head.safetensors") as tmp:
        save_file(res.head.state_tensors(), str(tmp))
    write_json(card, folder / "card.json")
    report = write_tuning_report(
        out, defaults={"test": {"sampled-100 hr@10": default}}, tuned={"sampled-100 hr@10": tuned}
    )
    console.print(
        f"best trial {res.best['trial']}: valid HR@10 {res.best['value']:.4f}; test sampled-100 "
        f"HR@10 {tuned:.4f} tuned vs {default:.4f} default ({res.seconds:.0f} s)"
    )
    console.print(f"params: {res.best['params']}", highlight=False)
    console.print(f"head: {folder}; study: {out}; report: {report}")


@app.command()
@user_errors
def pretrain(
    histories: Annotated[Path, typer.Option(help="Histories Parquet (byod data serialize).")],
    out: Out,
    labels: Annotated[
        Path | None,
        typer.Option(help="Labels Parquet for the probe (none: the next-item probe)."),
    ] = None,
    task: Annotated[
        str | None, typer.Option(help="The probe's task (e.g. gender); needs --labels.")
    ] = None,
    space: Space = None,
    n_trials: Trials = 12,
    timeout: Timeout = None,
    sampler: Sampler = "tpe",
    pruner: Annotated[str, typer.Option(help="hyperband | median | none.")] = "hyperband",
    seed: Seed = 0,
    backbone: Annotated[str, typer.Option(help="Event-text backbone.")] = "minilm",
    epochs: Annotated[
        int | None, typer.Option(help="Epochs per trial (default: the space's).")
    ] = None,
    device: Annotated[str, typer.Option(help="auto | cpu | cuda.")] = "auto",
    resume_pruned: Annotated[
        int, typer.Option("--resume-pruned", min=0, help="Continue the K best pruned trials.")
    ] = 0,
    storage: Storage = None,
    defaults: Annotated[
        bool,
        typer.Option(
            "--defaults/--no-defaults",
            help="Also pretrain byod's default settings, probed like a trial, for the report.",
        ),
    ] = False,
) -> None:
    """Trials of pretraining; a probe on held-out users each epoch lets the pruner stop bad ones.

    With --labels and --task the probe is a logistic head on the task; without them it is the
    label-free next-item probe (held-out users' last events ranked by the model: MRR), which
    needs the next-item objective in the space.
    """
    from byod.data.schema import read_table
    from byod.encoders.backbone import open_backbone
    from byod.tune.pretrainstudy import (
        PretrainStudy,
        resume_pruned_trials,
        score_defaults,
        tune_pretrain,
    )
    from byod.tune.report import write_tuning_report
    from byod.tune.space import load_space

    if (labels is None) != (task is None):
        raise ByodError("--labels and --task go together (neither: the next-item probe)")
    bb = open_backbone(backbone, models_dir=byod_home() / "models")
    cfg = PretrainStudy(
        task=task or "next-item", n_trials=n_trials, timeout=timeout, sampler=sampler,
        pruner=pruner, seed=seed, epochs=epochs, device=device, storage=storage, backbone=backbone,
    )  # fmt: skip
    args = (
        read_table(histories, "histories"),
        read_table(labels, "labels") if labels is not None else None,
    )
    sp = load_space(space, "pretrain", None if labels is not None else "next-item")
    cache = byod_home() / "text-vectors"
    if resume_pruned:
        done = resume_pruned_trials(*args, sp, out, cfg, resume_pruned, backbone=bb, cache=cache)
        say(f"resumed pruned trials {done}")
    best = tune_pretrain(*args, sp, out, cfg, backbone=bb, cache=cache)
    base = score_defaults(*args, sp, out, cfg, backbone=bb, cache=cache) if defaults else None
    tuned = {best["metric"]: best["value"]} if base else None
    report = write_tuning_report(out, defaults=base, tuned=tuned)
    console.print(f"best trial {best['trial']}: probe {best['metric']} {best['value']:.4f}")
    if base:
        console.print(f"defaults: probe {best['metric']} {base['test'][best['metric']]:.4f} "
                      f"({base['params']})", highlight=False)  # fmt: skip
    console.print(f"params: {best['params']}", highlight=False)
    console.print(f"study: {out}; report: {report}")


@app.command()
@user_errors
def dashboard(
    out: Annotated[Path, typer.Option("--out", help="Study folder.")],
    storage: Storage = None,
    port: Annotated[int, typer.Option(help="Port on 127.0.0.1.")] = 8080,
) -> None:
    """Open optuna-dashboard on loopback over a study's storage (pip install 'byod[dashboard]')."""
    try:
        import optuna_dashboard
    except ImportError:
        raise ByodError(
            "optuna-dashboard is not installed; pip install 'byod[dashboard]' (or optuna-dashboard)"
        ) from None
    from byod.tune.study import open_storage

    if storage is None and not (out / "journal.log").exists():
        raise ByodError(f"{out}: no journal.log; run `byod tune head|pretrain --out {out}` first")
    console.print(f"optuna-dashboard on http://127.0.0.1:{port} (Ctrl-C stops it)")
    optuna_dashboard.run_server(open_storage(out, storage), host="127.0.0.1", port=port)
