"""``byod text``: LLM augmentation, generation, pseudo-labels, HyperMatch training and curves.

Every command reads CSV / TSV / Parquet / JSONL (``--text-column``, ``--label-column``) and writes
CSV or Parquet by suffix. LLM outputs go to a JSON Lines cache next to the output (``--cache`` to
move it): an interrupted run picks up where it stopped. The task (label words, prompt language)
comes from ``--task`` or from a task file next to the data (``<data>.task.yaml`` or
``task.yaml``); there is no silent default. This module parses and prints; the work is in
:mod:`byod.textlab`.
"""

from __future__ import annotations

import functools
import inspect
import json
import os
from collections.abc import Callable
from pathlib import Path
from typing import Annotated, Any

import numpy as np
import polars as pl
import typer

from byod.atomic import write_json
from byod.cli._common import Encoding, byod_home, console, say, user_errors
from byod.tabular import check_encoding, read_table, write_table
from byod.textlab.llm.options import LLMOptions

app = typer.Typer(
    help="Few labels + a local LLM + unlabelled text → a text classifier (HyperMatch).",
    no_args_is_help=True,
)

Data = Annotated[Path, typer.Argument(help="CSV / TSV / Parquet / JSONL file.")]
Out = Annotated[Path, typer.Option("--out", help="Output file (.csv or .parquet).")]
TextCol = Annotated[str, typer.Option(help="Column holding the text.")]
LabelCol = Annotated[str, typer.Option(help="Column holding the label.")]
Task = Annotated[
    str | None,
    typer.Option(
        help="Task: packaged name (rotten-tomatoes, news-sources, nsmc, 3i4k, ...) or a YAML "
        "file. Default: DATA's <stem>.task.yaml or task.yaml next to it.",
    ),
]
Cache = Annotated[
    Path | None, typer.Option(help="JSONL cache of LLM outputs (default: OUT + .llm.jsonl).")
]
Seed = Annotated[int, typer.Option(help="Sampling seed.")]
Backbone = Annotated[str, typer.Option(help="Sentence encoder: minilm | e5-small | folder.")]
Labels = Annotated[str | None, typer.Option(help="Comma-separated labels (default: the task's).")]
DedupeBackbone = Annotated[
    str, typer.Option(help="Encoder for near-duplicate removal ('none': exact only).")
]

# One option block for every command that talks to an LLM (see `llm_options`).
_LLM_PARAMS = {
    "llm": (
        Annotated[
            str,
            typer.Option(
                help="LLM: auto (Korean tasks: qwen2.5-1.5b if installed, else qwen2.5-0.5b; "
                "others: smollm2) | smollm2 | qwen2.5-0.5b | qwen2.5-1.5b | a .gguf file | a "
                "transformers folder | http(s) URL | none (train / curve only: no LLM)."
            ),
        ],
        "auto",
    ),
    "backend": (
        Annotated[
            str,
            typer.Option(
                help="LLM runtime: auto (llama-cpp for qwen2.5-1.5b when installed, else "
                "transformers) | transformers | llama-cpp."
            ),
        ],
        "auto",
    ),
    "llm_model": (Annotated[str | None, typer.Option(help="Model id at an HTTP endpoint.")], None),
    "api_key_env": (
        Annotated[str, typer.Option(help="Environment variable holding the endpoint's API key.")],
        "OPENAI_API_KEY",
    ),
    "threads": (
        Annotated[
            int | None,
            typer.Option(
                min=1,
                help="CPU threads for every step (default: the LLM gets half the cores, at "
                "least 1; encoding gets all; see byod.textlab.threads).",
            ),
        ],
        None,
    ),
}


def llm_options(fn: Callable[..., Any]) -> Callable[..., Any]:
    """Add the ``--llm --backend --llm-model --api-key-env --threads`` block to a command.

    The command receives them as one ``llm_options: LLMOptions`` argument (the API key read from
    the named environment variable); ``--threads`` also sets torch's threads for encoding.
    """
    sig = inspect.signature(fn, eval_str=True)  # typer reads the annotations as objects
    kept = [p for p in sig.parameters.values() if p.name != "llm_options"]
    extra = [
        inspect.Parameter(name, inspect.Parameter.KEYWORD_ONLY, default=default, annotation=ann)
        for name, (ann, default) in _LLM_PARAMS.items()
    ]

    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        raw = {name: kwargs.pop(name) for name in _LLM_PARAMS}
        os.environ.setdefault("HF_HUB_OFFLINE", "1")  # CLI only: weights are local, never a hub
        if raw["threads"] is not None:
            import torch

            torch.set_num_threads(raw["threads"])  # encoding and heads; the LLM gets its own
        key = os.environ.get(raw["api_key_env"]) if raw["api_key_env"] else None
        options = LLMOptions(raw["llm"], raw["backend"], raw["llm_model"], key, raw["threads"])
        return fn(*args, llm_options=options, **kwargs)

    wrapper.__signature__ = sig.replace(parameters=[*kept, *extra])  # type: ignore[attr-defined]
    annotations = {k: v for k, v in fn.__annotations__.items() if k != "llm_options"}
    wrapper.__annotations__ = annotations | {n: a for n, (a, _) in _LLM_PARAMS.items()}
    return wrapper


def _frame(path: Path, encoding: str, *cols: str) -> pl.DataFrame:
    return read_table(path, encoding=check_encoding(encoding), text_columns=cols, say=say)


def _task(task: str | None, data: Path | None, labels: list[str] | None):  # noqa: ANN202
    """``--task``, else the task file next to ``data`` (said on stderr), else a one-line error."""
    from byod.textlab.errors import TaskNotFoundError
    from byod.textlab.prompts import find_task_file, load_task, packaged_tasks

    if task is None:
        if data is None:
            raise TaskNotFoundError(
                f"no --task given; pass a packaged task {packaged_tasks()} or a YAML file"
            )
        found = find_task_file(data)
        say(f"task: {found} (found next to {data.name})")
        task = str(found)
    return load_task(task, labels=labels)


def _cache(cache: Path | None, out: Path):  # noqa: ANN202
    from byod.textlab.jsonl_cache import JsonlCache

    return JsonlCache(cache or out.with_name(out.name + ".llm.jsonl"))


def _llm(options: LLMOptions, task, *, required: bool = False):  # noqa: ANN001, ANN202
    """The LLM of ``--llm`` / ``--backend``; ``auto`` picks by the task's prompt language."""
    return options.open(byod_home() / "llm", required=required, language=task.template.language)


def _backbone(name: str):  # noqa: ANN202
    from byod.encoders.backbone import open_backbone
    from byod.encoders.cache import EmbeddingCache
    from byod.progress import ProgressBackbone

    bb = ProgressBackbone(
        open_backbone(name, models_dir=byod_home() / "models"), f"embedding ({name})"
    )
    return bb, EmbeddingCache(byod_home() / "text-vectors", bb.fingerprint, bb.dim)


def _encoder(name: str) -> Callable[[list[str]], np.ndarray]:
    from byod.textlab.hypermatch import encode_texts

    bb, vcache = _backbone(name)
    return lambda texts: encode_texts(texts, bb, vcache)


def _write_generated(frame: pl.DataFrame, real: list[str], backbone: str, stats, out: Path) -> None:  # noqa: ANN001
    """Deduplicate, write the examples and their ``.stats.json``, print one line."""
    from byod.textlab.dedupe import dedupe_frame

    encode = None if backbone == "none" else _encoder(backbone)
    frame, dup = dedupe_frame(frame, real, encode)
    write_table(frame, out)
    summary = stats.as_dict() | {"duplicates_removed": dup, "written": frame.height}
    write_json(summary, out.with_name(out.name + ".stats.json"))
    line = json.dumps(
        {k: summary[k] for k in ("requested", "kept", "dropped", "duplicates_removed")}
    )
    console.print(f"{frame.height} examples → {out}; {line}")


@app.command()
@user_errors
@llm_options
def augment(
    data: Data,
    out: Out,
    task: Task = None,
    n: Annotated[int, typer.Option(help="New examples to write.")] = 16,
    k: Annotated[int, typer.Option(help="Real examples per prompt.")] = 2,
    text_column: TextCol = "text",
    label_column: LabelCol = "label",
    backbone: DedupeBackbone = "minilm",
    cache: Cache = None,
    seed: Seed = 0,
    encoding: Encoding = "utf-8",
    *,
    llm_options: LLMOptions,
) -> None:
    """Write new labelled examples (GPT3Mix) with soft labels from few real ones."""
    from byod.textlab.augment import GenerationConfig
    from byod.textlab.augment import augment as run_augment

    df = _frame(data, encoding, text_column, label_column)
    texts, labels = df[text_column].to_list(), df[label_column].to_list()
    spec = _task(task, data, sorted(set(labels)))
    lm = _llm(llm_options, spec, required=True)
    frame, stats = run_augment(lm, spec, texts, labels, n=n, config=GenerationConfig(k=k),
                               seed=seed, cache=_cache(cache, out))  # fmt: skip
    _write_generated(frame, texts, backbone, stats, out)


@app.command()
@user_errors
@llm_options
def generate(
    out: Out,
    task: Task = None,
    labels: Labels = None,
    n_per_label: Annotated[int, typer.Option(help="Texts to write per label.")] = 8,
    backbone: DedupeBackbone = "minilm",
    cache: Cache = None,
    seed: Seed = 0,
    *,
    llm_options: LLMOptions,
) -> None:
    """Write labelled examples from the label names alone (zero data), soft-labelled."""
    from byod.textlab.augment import generate as run_generate

    spec = _task(task, None, labels.split(",") if labels else None)
    lm = _llm(llm_options, spec, required=True)
    frame, stats = run_generate(
        lm, spec, n_per_label=n_per_label, seed=seed, cache=_cache(cache, out)
    )
    _write_generated(frame, [], backbone, stats, out)


@app.command()
@user_errors
@llm_options
def pseudolabel(
    data: Data,
    out: Out,
    task: Task = None,
    labels: Labels = None,
    examples: Annotated[
        Path | None, typer.Option(help="Labelled file whose rows go into the prompt (few-shot).")
    ] = None,
    shots: Annotated[int, typer.Option(help="How many rows of --examples to show.")] = 4,
    calibrate: Annotated[bool, typer.Option(help="Contextual calibration.")] = True,
    text_column: TextCol = "text",
    label_column: LabelCol = "label",
    cache: Cache = None,
    encoding: Encoding = "utf-8",
    *,
    llm_options: LLMOptions,
) -> None:
    """Soft labels (calibrated LLM label probabilities) for unlabelled texts."""
    from byod.textlab.hypermatch import few_shot_examples
    from byod.textlab.pseudolabel import pseudolabel as run_pseudolabel

    df = _frame(data, encoding, text_column)
    shown: list[tuple[str, str]] = []
    label_set = labels.split(",") if labels else None
    if examples is not None:
        ex = _frame(examples, encoding, text_column, label_column)
        ex_texts, ex_labels = ex[text_column].to_list(), ex[label_column].to_list()
        label_set = label_set or sorted(set(ex_labels))
        shown = few_shot_examples(ex_texts, ex_labels, shots, np.random.default_rng(0))
    spec = _task(task, data, label_set)
    for _, label in shown:
        spec.word(label)  # an example outside the label set is a one-line error, before the LLM
    lm = _llm(llm_options, spec, required=True)
    frame = run_pseudolabel(lm, spec, df[text_column].to_list(), examples=shown,
                            calibrated=calibrate, cache=_cache(cache, out))  # fmt: skip
    write_table(frame, out)
    console.print(f"{frame.height} texts labelled → {out}")


@app.command()
@user_errors
@llm_options
def train(
    data: Annotated[Path, typer.Argument(help="Labelled texts.")],
    out: Annotated[Path, typer.Option("--out", help="Folder for the model and metrics.")],
    unlabelled: Annotated[Path | None, typer.Option(help="Unlabelled in-domain texts.")] = None,
    pool: Annotated[
        Path | None,
        typer.Option(help="Out-of-domain texts to select from (then used as unlabelled)."),
    ] = None,
    select: Annotated[
        str, typer.Option(help="Pool selector: retrieval | classifier.")
    ] = "retrieval",
    test: Annotated[Path | None, typer.Option(help="Labelled test texts to score.")] = None,
    task: Task = None,
    text_column: TextCol = "text",
    label_column: LabelCol = "label",
    backbone: Backbone = "minilm",
    augment_ratio: Annotated[float, typer.Option(help="LLM examples per real one.")] = 1.0,
    paraphrase_view: Annotated[
        bool, typer.Option(help="Add an LLM paraphrase as a strong view (slow).")
    ] = False,
    consistency_without_llm: Annotated[
        bool,
        typer.Option(help="FixMatch on --unlabelled even with no usable LLM (measured to hurt)."),
    ] = False,
    teacher_alpha: Annotated[
        float,
        typer.Option(
            min=0.0, max=1.0, help="Significance of the teacher check (binomial test on labels)."
        ),
    ] = 0.05,
    encoder: Annotated[
        str,
        typer.Option(
            help="frozen (the head on cached vectors: seconds) | finetune (fine-tune a copy "
            "of the encoder first, SetFit pairs + LLM soft labels + FixMatch: minutes on CPU)."
        ),
    ] = "frozen",
    seed: Seed = 0,
    encoding: Encoding = "utf-8",
    *,
    llm_options: LLMOptions,
) -> None:
    """Train a HyperMatch classifier; score --test when given."""
    from byod.textlab.hypermatch import HyperMatchConfig, encode_texts, fit_hypermatch
    from byod.textlab.metrics import classification_scores, headline_metric
    from byod.textlab.model import save_classifier, save_encoder
    from byod.textlab.select import check_selector, select_pool

    cfg = HyperMatchConfig(augment_ratio=augment_ratio, paraphrase_view=paraphrase_view,
                           consistency_without_llm=consistency_without_llm,
                           teacher_alpha=teacher_alpha, encoder=encoder)  # fmt: skip
    if pool is not None:
        check_selector(select)  # before any model loads
    df = _frame(data, encoding, text_column, label_column)
    texts, labels = df[text_column].to_list(), df[label_column].to_list()
    spec = _task(task, data, sorted(set(labels)))
    unl = _frame(unlabelled, encoding, text_column)[text_column].to_list() if unlabelled else []
    test_df = _frame(test, encoding, text_column, label_column) if test is not None else None
    bb, vcache = _backbone(backbone)
    encode = functools.partial(encode_texts, backbone=bb, cache=vcache)
    info: dict[str, object] = {}
    if pool is not None:
        pool_texts = _frame(pool, encoding, text_column)[text_column].to_list()
        sel = select_pool(select, encode(pool_texts), encode(texts), np.asarray(labels),
                          encode(unl))  # fmt: skip
        unl = unl + [t for t, k in zip(pool_texts, sel.keep, strict=True) if k]
        info["pool_selection"] = sel.summary()
        console.print(sel.summary())
    lm = _llm(llm_options, spec)
    res = fit_hypermatch(texts, labels, unl, task=spec, backbone=bb, llm=lm, config=cfg,
                         seed=seed, llm_cache=_cache(None, out / "llm"),
                         vector_cache=vcache)  # fmt: skip
    info |= res.info
    teacher = res.info.get("teacher")
    if teacher is not None:
        verdict = "used" if teacher["used"] else "not used"
        console.print(f"LLM teacher {verdict}: {teacher['reason']}")
    unused = lm is None or not (teacher or {}).get("used", True)
    if unl and unused and not consistency_without_llm:
        console.print("note: without a usable LLM teacher the unlabelled texts are not used "
                      "(--consistency-without-llm uses them anyway)")  # fmt: skip
    if res.backbone is not None:  # the fine-tuned encoder travels with the head
        backbone = str(save_encoder(res.backbone, out).resolve())
        encode = functools.partial(encode_texts, backbone=res.backbone)
    save_classifier(res.head, out, backbone=backbone, task=spec)
    line = ""
    if test_df is not None:
        truth = test_df[label_column].to_numpy()
        pred = res.head.predict(encode(test_df[text_column].to_list()))
        write_table(test_df.with_columns(prediction=pl.Series(pred.astype(str))),
                    out / "test_predictions.csv")  # fmt: skip
        scores = classification_scores(truth, pred)
        info["test"] = scores | {"n": test_df.height, "headline": headline_metric(truth)}
        line = "; test " + _scores_line(scores, info["test"]["headline"])
    write_json(info, out / "train.json")
    console.print(f"model → {out}{line}")


def _scores_line(scores: dict[str, float], headline: str) -> str:
    """``macro-F1 0.612 (accuracy 0.801, balanced accuracy 0.598)``: the headline first."""
    names = {"accuracy": "accuracy", "macro_f1": "macro-F1", "balanced_accuracy":
             "balanced accuracy"}  # fmt: skip
    rest = ", ".join(f"{names[k]} {v:.3f}" for k, v in scores.items() if k != headline)
    return f"{names[headline]} {scores[headline]:.3f} ({rest})"


@app.command()
@user_errors
@llm_options
def curve(
    data: Annotated[Path, typer.Argument(help="Labelled pool to draw budgets from.")],
    test: Annotated[Path, typer.Option(help="Labelled test texts.")],
    out: Annotated[Path, typer.Option("--out", help="Folder for curve.parquet and the report.")],
    unlabelled: Annotated[Path | None, typer.Option(help="Unlabelled in-domain texts.")] = None,
    budgets: Annotated[
        str, typer.Option(help="Labels per class, comma-separated.")
    ] = "2,4,8,16,32,64",
    seeds: Annotated[int, typer.Option(min=1, help="Seeds per budget.")] = 3,
    metric: Annotated[
        str,
        typer.Option(
            help="Headline: auto (macro_f1 when the largest test class is over 60 %, else "
            "accuracy) | accuracy | macro_f1 | balanced_accuracy."
        ),
    ] = "auto",
    target: Annotated[
        float | None,
        typer.Option(help="Target of the headline metric (default: full supervision - 0.02)."),
    ] = None,
    task: Task = None,
    text_column: TextCol = "text",
    label_column: LabelCol = "label",
    backbone: Backbone = "minilm",
    augment_max: Annotated[int, typer.Option(help="Cap on LLM examples per fit.")] = 16,
    encoding: Encoding = "utf-8",
    *,
    llm_options: LLMOptions,
) -> None:
    """A score vs labels per class (supervised vs HyperMatch) and the labels a target needs."""
    from byod.textlab import curve as lab
    from byod.textlab.errors import TextlabError
    from byod.textlab.hypermatch import HyperMatchConfig, encode_texts
    from byod.textlab.metrics import METRICS, headline_metric

    sizes = lab.parse_budgets(budgets)
    if metric != "auto" and metric not in METRICS:
        raise TextlabError(f"--metric {metric!r}: choose auto or one of {METRICS}")
    pool_df = _frame(data, encoding, text_column, label_column)
    test_df = _frame(test, encoding, text_column, label_column)
    pool_texts, pool_labels = pool_df[text_column].to_list(), pool_df[label_column].to_list()
    y_test = test_df[label_column].to_list()
    metric = headline_metric(y_test) if metric == "auto" else metric
    spec = _task(task, data, sorted(set(pool_labels)))
    bb, vcache = _backbone(backbone)
    x_test = encode_texts(test_df[text_column].to_list(), bb, vcache)
    unl = _frame(unlabelled, encoding, text_column)[text_column].to_list() if unlabelled else []
    methods = lab.curve_methods(x_test, unl, task=spec, backbone=bb, llm=_llm(llm_options, spec),
                            config=HyperMatchConfig(augment_max=augment_max),
                            llm_cache=_cache(None, out / "llm"), vector_cache=vcache)  # fmt: skip
    table = lab.run_curve(methods, pool_texts, pool_labels, y_test, budgets=sizes,
                      seeds=range(seeds))  # fmt: skip
    if target is None:
        x_pool = encode_texts(pool_texts, bb, vcache)
        full = lab.full_supervision(x_pool, pool_labels, x_test, y_test)
        target = full[metric] - 0.02
    write_table(table, out / "curve.parquet")
    meta = [f"data {data}", f"backbone {backbone}, LLM {llm_options.spec}", f"headline {metric}"]
    page = lab.curve_report(table, out / "report", target=target, meta=meta, metric=metric)
    console.print(f"curve ({metric}) → {out / 'curve.parquet'}; report → {page}")


@app.command()
@user_errors
def predict(
    model: Annotated[Path, typer.Argument(help="Folder written by `byod text train`.")],
    data: Data,
    out: Out,
    text_column: TextCol = "text",
    encoding: Encoding = "utf-8",
) -> None:
    """Label texts with a trained classifier (label, confidence, prob_<label> columns)."""
    from byod.textlab.model import load_classifier, prediction_frame

    head, card = load_classifier(model)
    df = _frame(data, encoding, text_column)
    probs = head.predict_proba(_encoder(card["backbone"])(df[text_column].to_list()))
    frame = df.hstack(prediction_frame(head.classes_, probs))
    write_table(frame, out)
    console.print(f"{frame.height} predictions → {out}")
