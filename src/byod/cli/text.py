"""``byod text``: LLM augmentation, generation, pseudo-labels, HyperMatch training and curves.

Every command reads CSV / TSV / Parquet / JSONL (``--text-column``, ``--label-column``) and writes
CSV or Parquet by suffix. LLM outputs go to a JSON Lines cache next to the output (``--cache`` to
move it): an interrupted run picks up where it stopped.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Annotated

import numpy as np
import polars as pl
import typer

from byod.atomic import write_json
from byod.cli._common import Encoding, byod_home, console, say, user_errors
from byod.errors import ByodError
from byod.tabular import check_encoding, read_table, write_table

app = typer.Typer(
    help="Few labels + a local LLM + unlabelled text → a text classifier (HyperMatch).",
    no_args_is_help=True,
)

Data = Annotated[Path, typer.Argument(help="CSV / TSV / Parquet / JSONL file.")]
Out = Annotated[Path, typer.Option("--out", help="Output file (.csv or .parquet).")]
TextCol = Annotated[str, typer.Option(help="Column holding the text.")]
LabelCol = Annotated[str, typer.Option(help="Column holding the label.")]
Task = Annotated[
    str,
    typer.Option(
        help="Task: packaged name (rotten-tomatoes, news-sources, korean-topics) or YAML."
    ),
]
Llm = Annotated[
    str,
    typer.Option(
        help="LLM: smollm2 | qwen2.5-0.5b | a .gguf file | a transformers folder | http(s) URL."
    ),
]
Backend = Annotated[str, typer.Option(help="LLM runtime: transformers | llama-cpp.")]
LlmModel = Annotated[str | None, typer.Option(help="Model id at an HTTP endpoint.")]
ApiKeyEnv = Annotated[
    str, typer.Option(help="Environment variable holding the endpoint's API key.")
]
Cache = Annotated[
    Path | None, typer.Option(help="JSONL cache of LLM outputs (default: OUT + .llm.jsonl).")
]
Seed = Annotated[int, typer.Option(help="Sampling seed.")]
Backbone = Annotated[str, typer.Option(help="Sentence encoder: minilm | e5-small | folder.")]
Threads = Annotated[
    int | None,
    typer.Option(
        min=1,
        help="CPU threads for every step (default: the LLM gets half the cores, at least 1; "
        "encoding gets all; see byod.textlab.threads).",
    ),
]


def _open_llm(  # noqa: ANN202
    llm: str, backend: str, llm_model: str | None, api_key_env: str, threads: int | None
):
    from byod.textlab.llm import open_llm
    from byod.textlab.threads import step_threads

    os.environ.setdefault("HF_HUB_OFFLINE", "1")  # never reach for a hub: weights are local
    key = os.environ.get(api_key_env) if api_key_env else None
    return open_llm(
        llm,
        llm_dir=byod_home() / "llm",
        backend=backend,
        model=llm_model,
        api_key=key,
        threads=step_threads("llm", threads),
    )


def _set_threads(threads: int | None) -> None:
    """``--threads`` for the steps outside the LLM (encoding, heads): torch's global setting."""
    if threads is not None:
        import torch

        torch.set_num_threads(threads)


def _frame(path: Path, encoding: str, *cols: str) -> pl.DataFrame:
    return read_table(path, encoding=check_encoding(encoding), text_columns=cols, say=say)


def _task(task: str, labels: list[str] | None):  # noqa: ANN202
    from byod.textlab.prompts import load_task

    return load_task(task, labels=labels)


def _cache(cache: Path | None, out: Path):  # noqa: ANN202
    from byod.textlab.jsonl_cache import JsonlCache

    return JsonlCache(cache or out.with_name(out.name + ".llm.jsonl"))


@app.command()
@user_errors
def augment(
    data: Data,
    out: Out,
    task: Task = "rotten-tomatoes",
    n: Annotated[int, typer.Option(help="New examples to write.")] = 16,
    k: Annotated[int, typer.Option(help="Real examples per prompt.")] = 2,
    text_column: TextCol = "text",
    label_column: LabelCol = "label",
    llm: Llm = "smollm2",
    backend: Backend = "transformers",
    llm_model: LlmModel = None,
    api_key_env: ApiKeyEnv = "OPENAI_API_KEY",
    backbone: Annotated[
        str, typer.Option(help="Encoder for near-duplicate removal ('none': exact only).")
    ] = "minilm",
    cache: Cache = None,
    seed: Seed = 0,
    encoding: Encoding = "utf-8",
    threads: Threads = None,
) -> None:
    """Write new labelled examples (GPT3Mix) with soft labels from few real ones."""
    _set_threads(threads)
    from byod.textlab.augment import GenerationConfig
    from byod.textlab.augment import augment as run_augment

    df = _frame(data, encoding, text_column, label_column)
    texts, labels = df[text_column].to_list(), df[label_column].to_list()
    spec = _task(task, sorted(set(labels)))
    lm = _open_llm(llm, backend, llm_model, api_key_env, threads)
    frame, stats = run_augment(
        lm,
        spec,
        texts,
        labels,
        n=n,
        config=GenerationConfig(k=k),
        seed=seed,
        cache=_cache(cache, out),
    )
    frame, dup = _dedupe(frame, texts, backbone)
    write_table(frame, out)
    summary = stats.as_dict() | {"duplicates_removed": dup, "written": frame.height}
    write_json(summary, out.with_name(out.name + ".stats.json"))
    console.print(f"{frame.height} examples → {out}; {_stats_line(summary)}")


@app.command()
@user_errors
def generate(
    out: Out,
    task: Task = "rotten-tomatoes",
    labels: Annotated[
        str | None, typer.Option(help="Comma-separated labels (default: the task's).")
    ] = None,
    n_per_label: Annotated[int, typer.Option(help="Texts to write per label.")] = 8,
    llm: Llm = "smollm2",
    backend: Backend = "transformers",
    llm_model: LlmModel = None,
    api_key_env: ApiKeyEnv = "OPENAI_API_KEY",
    backbone: Annotated[
        str, typer.Option(help="Encoder for near-duplicates, or 'none'.")
    ] = "minilm",
    cache: Cache = None,
    seed: Seed = 0,
    threads: Threads = None,
) -> None:
    """Write labelled examples from the label names alone (zero data), soft-labelled."""
    _set_threads(threads)
    from byod.textlab.augment import generate as run_generate

    spec = _task(task, labels.split(",") if labels else None)
    lm = _open_llm(llm, backend, llm_model, api_key_env, threads)
    frame, stats = run_generate(
        lm, spec, n_per_label=n_per_label, seed=seed, cache=_cache(cache, out)
    )
    frame, dup = _dedupe(frame, [], backbone)
    write_table(frame, out)
    summary = stats.as_dict() | {"duplicates_removed": dup, "written": frame.height}
    write_json(summary, out.with_name(out.name + ".stats.json"))
    console.print(f"{frame.height} examples → {out}; {_stats_line(summary)}")


@app.command()
@user_errors
def pseudolabel(
    data: Data,
    out: Out,
    task: Task = "rotten-tomatoes",
    labels: Annotated[
        str | None, typer.Option(help="Comma-separated labels (default: the task's).")
    ] = None,
    examples: Annotated[
        Path | None, typer.Option(help="Labelled file whose rows go into the prompt (few-shot).")
    ] = None,
    shots: Annotated[int, typer.Option(help="How many rows of --examples to show.")] = 4,
    calibrate: Annotated[bool, typer.Option(help="Contextual calibration.")] = True,
    text_column: TextCol = "text",
    label_column: LabelCol = "label",
    llm: Llm = "smollm2",
    backend: Backend = "transformers",
    llm_model: LlmModel = None,
    api_key_env: ApiKeyEnv = "OPENAI_API_KEY",
    cache: Cache = None,
    encoding: Encoding = "utf-8",
    threads: Threads = None,
) -> None:
    """Soft labels (calibrated LLM label probabilities) for unlabelled texts."""
    _set_threads(threads)
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
    spec = _task(task, label_set)
    lm = _open_llm(llm, backend, llm_model, api_key_env, threads)
    frame = run_pseudolabel(
        lm,
        spec,
        df[text_column].to_list(),
        examples=shown,
        calibrated=calibrate,
        cache=_cache(cache, out),
    )
    write_table(frame, out)
    console.print(f"{frame.height} texts labelled → {out}")


@app.command()
@user_errors
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
    task: Task = "rotten-tomatoes",
    text_column: TextCol = "text",
    label_column: LabelCol = "label",
    llm: Annotated[str, typer.Option(help="LLM as for augment, or 'none' (SSL only).")] = "smollm2",
    backend: Backend = "transformers",
    llm_model: LlmModel = None,
    api_key_env: ApiKeyEnv = "OPENAI_API_KEY",
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
    seed: Seed = 0,
    encoding: Encoding = "utf-8",
    threads: Threads = None,
) -> None:
    """Train a HyperMatch classifier; score --test when given."""
    _set_threads(threads)
    from byod.textlab.hypermatch import HyperMatchConfig, fit_hypermatch
    from byod.textlab.model import save_classifier

    df = _frame(data, encoding, text_column, label_column)
    texts, labels = df[text_column].to_list(), df[label_column].to_list()
    spec = _task(task, sorted(set(labels)))
    unl = _frame(unlabelled, encoding, text_column)[text_column].to_list() if unlabelled else []
    test_df = _frame(test, encoding, text_column, label_column) if test is not None else None
    pool_texts = _frame(pool, encoding, text_column)[text_column].to_list() if pool else []
    bb, vcache = _backbone(backbone)
    info: dict[str, object] = {}
    if pool is not None:
        chosen, line = _select_pool(pool_texts, select, texts, labels, unl, bb, vcache)
        unl, info["pool_selection"] = unl + chosen, line
        console.print(line)
    lm = None if llm == "none" else _open_llm(llm, backend, llm_model, api_key_env, threads)
    cfg = HyperMatchConfig(
        augment_ratio=augment_ratio,
        paraphrase_view=paraphrase_view,
        consistency_without_llm=consistency_without_llm,
        teacher_alpha=teacher_alpha,
    )
    res = fit_hypermatch(
        texts,
        labels,
        unl,
        task=spec,
        backbone=bb,
        llm=lm,
        config=cfg,
        seed=seed,
        llm_cache=_cache(None, out / "llm"),
        vector_cache=vcache,
    )
    info |= res.info
    if "teacher" in res.info:
        verdict = "used" if res.info["teacher"]["used"] else "not used"
        console.print(f"LLM teacher {verdict}: {res.info['teacher']['reason']}")
    no_teacher = lm is None or not res.info.get("teacher", {}).get("used", True)
    if unl and no_teacher and not consistency_without_llm:
        console.print("note: without a usable LLM teacher the unlabelled texts are not used "
                      "(--consistency-without-llm uses them anyway)")  # fmt: skip
    save_classifier(res.head, out, backbone=backbone, task=spec)
    if test_df is not None:
        info["test"] = _score_test(res.head, test_df, text_column, label_column, bb, vcache, out)
    write_json(info, out / "train.json")
    line = f"; test accuracy {info['test']['accuracy']:.3f}" if test is not None else ""
    console.print(f"model → {out}{line}")


@app.command()
@user_errors
def curve(
    data: Annotated[Path, typer.Argument(help="Labelled pool to draw budgets from.")],
    test: Annotated[Path, typer.Option(help="Labelled test texts.")],
    out: Annotated[Path, typer.Option("--out", help="Folder for curve.parquet and the report.")],
    unlabelled: Annotated[Path | None, typer.Option(help="Unlabelled in-domain texts.")] = None,
    budgets: Annotated[
        str, typer.Option(help="Labels per class, comma-separated.")
    ] = "2,4,8,16,32,64",
    seeds: Annotated[int, typer.Option(help="Seeds per budget.")] = 3,
    target: Annotated[
        float | None, typer.Option(help="Target accuracy (default: full supervision - 0.02).")
    ] = None,
    task: Task = "rotten-tomatoes",
    text_column: TextCol = "text",
    label_column: LabelCol = "label",
    llm: Annotated[str, typer.Option(help="LLM for HyperMatch, or 'none'.")] = "smollm2",
    backend: Backend = "transformers",
    llm_model: LlmModel = None,
    api_key_env: ApiKeyEnv = "OPENAI_API_KEY",
    backbone: Backbone = "minilm",
    augment_max: Annotated[int, typer.Option(help="Cap on LLM examples per fit.")] = 16,
    encoding: Encoding = "utf-8",
    threads: Threads = None,
) -> None:
    """Accuracy vs labels per class (supervised vs HyperMatch) and the labels a target needs."""
    _set_threads(threads)
    from byod.textlab.curve import curve_report, run_curve
    from byod.textlab.hypermatch import HyperMatchConfig, encode_texts, fit_hypermatch
    from byod.transfer.heads import LogisticHead

    pool_df = _frame(data, encoding, text_column, label_column)
    test_df = _frame(test, encoding, text_column, label_column)
    pool_texts, pool_labels = pool_df[text_column].to_list(), pool_df[label_column].to_list()
    spec = _task(task, sorted(set(pool_labels)))
    bb, vcache = _backbone(backbone)
    x_test = encode_texts(test_df[text_column].to_list(), bb, vcache)
    unl = _frame(unlabelled, encoding, text_column)[text_column].to_list() if unlabelled else []
    lm = None if llm == "none" else _open_llm(llm, backend, llm_model, api_key_env, threads)
    cache = _cache(None, out / "llm")
    cfg = HyperMatchConfig(augment_max=augment_max)

    def supervised(texts: list[str], labels: list[str], seed: int) -> np.ndarray:
        return (
            LogisticHead().fit(encode_texts(texts, bb, vcache), np.asarray(labels)).predict(x_test)
        )

    def hypermatch(texts: list[str], labels: list[str], seed: int) -> np.ndarray:
        res = fit_hypermatch(
            texts,
            labels,
            unl,
            task=spec,
            backbone=bb,
            llm=lm,
            config=cfg,
            seed=seed,
            llm_cache=cache,
            vector_cache=vcache,
            progress=False,
        )
        return res.head.predict(x_test)

    sizes = [int(b) for b in budgets.split(",")]
    table = run_curve(
        {"supervised": supervised, "hypermatch": hypermatch},
        pool_texts,
        pool_labels,
        test_df[label_column].to_list(),
        budgets=sizes,
        seeds=range(seeds),
    )
    if target is None:
        x_pool = encode_texts(pool_texts, bb, vcache)
        full = LogisticHead().fit(x_pool, np.asarray(pool_labels)).predict(x_test)
        target = float((full == test_df[label_column].to_numpy()).mean()) - 0.02
    write_table(table, out / "curve.parquet")
    page = curve_report(
        table,
        out / "report",
        target=target,
        meta=[f"data {data}", f"backbone {backbone}, LLM {llm}"],
    )
    console.print(f"curve → {out / 'curve.parquet'}; report → {page}")


def _backbone(name: str):  # noqa: ANN202
    from byod.encoders.backbone import open_backbone
    from byod.encoders.cache import EmbeddingCache
    from byod.progress import ProgressBackbone

    bb = ProgressBackbone(
        open_backbone(name, models_dir=byod_home() / "models"), f"embedding ({name})"
    )
    return bb, EmbeddingCache(byod_home() / "text-vectors", bb.fingerprint, bb.dim)


def _dedupe(frame: pl.DataFrame, real: list[str], backbone: str) -> tuple[pl.DataFrame, dict]:
    from byod.textlab.dedupe import dedupe
    from byod.textlab.hypermatch import encode_texts

    texts = frame["text"].to_list()
    if backbone == "none" or not texts:
        keep, counts = dedupe(texts, reference=real)
    else:
        bb, vcache = _backbone(backbone)
        keep, counts = dedupe(
            texts,
            encode_texts(texts, bb, vcache),
            reference=real,
            reference_vectors=encode_texts(real, bb, vcache),
        )
    return frame.filter(pl.Series(keep)), counts


def _select_pool(pool_texts, method, texts, labels, unl, bb, vcache):  # noqa: ANN001, ANN202
    from byod.textlab.hypermatch import encode_texts
    from byod.textlab.select import SELECTORS, select_by_classifier, select_by_retrieval

    if method not in SELECTORS:
        raise ByodError(f"--select {method!r}: choose one of {SELECTORS}")
    x_pool = encode_texts(pool_texts, bb, vcache)
    x_lab, x_unl = encode_texts(texts, bb, vcache), encode_texts(unl, bb, vcache)
    if method == "retrieval":
        sel = select_by_retrieval(x_pool, x_lab, np.asarray(labels), x_in=x_unl if unl else None)
    else:
        sel = select_by_classifier(x_pool, np.vstack([x_lab, x_unl]))
    return [t for t, k in zip(pool_texts, sel.keep, strict=True) if k], sel.summary()


def _score_test(head, df, text_column, label_column, bb, vcache, out) -> dict:  # noqa: ANN001
    from sklearn.metrics import accuracy_score, f1_score

    from byod.textlab.hypermatch import encode_texts

    pred = head.predict(encode_texts(df[text_column].to_list(), bb, vcache))
    truth = df[label_column].to_numpy()
    write_table(
        df.with_columns(prediction=pl.Series(pred.astype(str))), out / "test_predictions.csv"
    )
    return {
        "accuracy": float(accuracy_score(truth, pred)),
        "macro_f1": float(f1_score(truth, pred, average="macro")),
        "n": df.height,
    }


def _stats_line(summary: dict) -> str:
    return json.dumps(
        {k: summary[k] for k in ("requested", "kept", "dropped", "duplicates_removed")}
    )


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
    from byod.textlab.hypermatch import encode_texts
    from byod.textlab.model import load_classifier

    head, card = load_classifier(model)
    df = _frame(data, encoding, text_column)
    bb, vcache = _backbone(card["backbone"])
    probs = head.predict_proba(encode_texts(df[text_column].to_list(), bb, vcache))
    cols = {f"prob_{c}": probs[:, j] for j, c in enumerate(head.classes_)}
    frame = df.with_columns(
        prediction=pl.Series(head.classes_[probs.argmax(axis=1)].astype(str)),
        confidence=pl.Series(probs.max(axis=1)),
        **{k: pl.Series(v) for k, v in cols.items()},
    )
    write_table(frame, out)
    console.print(f"{frame.height} predictions → {out}")
