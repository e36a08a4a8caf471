"""``byod labels``: audit labels for errors (PICO) and simulate label noise."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import numpy as np
import polars as pl
import typer

from byod.atomic import write_csv, write_json, write_text
from byod.cli._common import Encoding, byod_home, console, say, user_errors
from byod.errors import ByodError
from byod.tabular import check_encoding, read_table, write_table

app = typer.Typer(help="Find and fix label errors; simulate label noise.", no_args_is_help=True)

TextColumn = Annotated[str, typer.Option(help="Column holding the text.")]
LabelColumn = Annotated[str, typer.Option(help="Column holding the label.")]


@app.command()
@user_errors
def audit(
    data: Annotated[
        Path, typer.Argument(help="CSV / TSV / Parquet / JSONL with texts and labels.")
    ],
    out: Annotated[Path, typer.Option("--out", help="Folder for suspects.csv, summary.html, ...")],
    text_column: TextColumn = "text",
    label_column: LabelColumn = "label",
    backbone: Annotated[
        str,
        typer.Option(
            help="Encoder for the texts: e5-small (multilingual; audits best on the English "
            "sets too) | minilm | a sentence-transformers folder."
        ),
    ] = "e5-small",
    n_splits: Annotated[int, typer.Option(help="Random K-fold splits per round (voters).")] = 3,
    n_rounds: Annotated[int, typer.Option(help="Belief-update rounds.")] = 3,
    max_class_flags: Annotated[
        float,
        typer.Option(
            min=0.01,
            max=1.0,
            help="Largest share of one class that may be flagged; above it the checkers' "
            "evidence on that class is discounted (1: no cap).",
        ),
    ] = 0.5,
    seed: Annotated[int, typer.Option(help="Random seed.")] = 0,
    checker: Annotated[
        str,
        typer.Option(help="logistic (frozen embeddings, fast) | finetune (fine-tuned encoder)."),
    ] = "logistic",
    finetune_epochs: Annotated[int, typer.Option(min=1, help="Epochs per fine-tuned checker.")] = 2,
    finetune_lr: Annotated[float, typer.Option(help="Learning rate of the fine-tuning.")] = 5e-5,
    apply: Annotated[
        bool, typer.Option(help="Also write a corrected copy (never the input).")
    ] = False,
    encoding: Encoding = "utf-8",
) -> None:
    """Rank suspected label errors; with --apply write a corrected copy next to the suspects."""
    from byod.encoders.backbone import open_backbone
    from byod.labels.audit import audit as run_audit
    from byod.labels.report import audit_html
    from byod.progress import encode_with_progress

    if checker not in ("logistic", "finetune"):
        raise ByodError(f"--checker must be 'logistic' or 'finetune', got {checker!r}")
    df = read_table(
        data, encoding=check_encoding(encoding), text_columns=[text_column, label_column], say=say
    )
    texts = df[text_column]
    bb = open_backbone(backbone, models_dir=byod_home() / "models")
    labels = df[label_column].cast(pl.String).to_numpy()
    options = {"n_splits": n_splits, "n_rounds": n_rounds, "seed": seed, "progress": True,
               "max_class_flags": max_class_flags}  # fmt: skip
    if checker == "finetune":
        from byod.labels.finetune import FineTunedChecker

        def make() -> FineTunedChecker:
            return FineTunedChecker(
                bb.model, epochs=finetune_epochs, lr=finetune_lr, seed=seed, progress=True
            )

        x = np.asarray(texts.to_list(), dtype=object)
        result = run_audit(x, labels, checker=make, **options)
    else:
        x = encode_with_progress(bb, texts.to_list(), desc=f"embedding ({backbone})")
        result = run_audit(x, labels, **options)
    suspects = pl.DataFrame(
        {"row": np.arange(1, df.height + 1), "text": texts, "given": result.given.astype(str),
         "suggested": result.suggested.astype(str), "score": result.score,
         "flagged": result.flagged}
    ).sort("score")  # fmt: skip
    write_csv(suspects.filter(pl.col("flagged")), out / "suspects.csv")
    write_csv(suspects, out / "scores.csv")
    write_text(
        audit_html(result, suspects, title=f"Label audit of {data.name}"), out / "summary.html"
    )
    write_json(
        {
            "n": df.height,
            "flagged": int(result.flagged.sum()),
            "history": result.history,
            "class_trust": dict(
                zip(
                    result.classes.astype(str).tolist(),
                    np.asarray(result.class_trust).tolist(),
                    strict=True,
                )
            ),
        },  # fmt: skip
        out / "audit.json",
    )
    console.print(
        f"{int(result.flagged.sum()):,} of {df.height:,} labels flagged; "
        f"suspects in {out / 'suspects.csv'}"
    )
    if apply:
        suffix = data.suffix if data.suffix in (".csv", ".parquet") else ".csv"
        fixed = out / f"{data.stem}.corrected{suffix}"
        if fixed.resolve() == data.resolve():
            raise ByodError("refusing to overwrite the input; choose another --out")
        corrected = df.with_columns(pl.Series(label_column, result.suggested.astype(str)))
        write_table(corrected, fixed)
        console.print(f"corrected copy: {fixed}")


@app.command()
@user_errors
def corrupt(
    data: Annotated[Path, typer.Argument(help="CSV / TSV / Parquet / JSONL with labels.")],
    out: Annotated[Path, typer.Option("--out", help="Corrupted copy (.csv or .parquet).")],
    rate: Annotated[float, typer.Option(help="Share of labels to flip.")] = 0.2,
    kind: Annotated[str, typer.Option(help="uniform | class_conditional.")] = "uniform",
    label_column: LabelColumn = "label",
    seed: Annotated[int, typer.Option(help="Random seed.")] = 0,
    encoding: Encoding = "utf-8",
) -> None:
    """Flip labels at a given rate; the copy keeps the true label and a ``flipped`` column."""
    from byod.labels.noise import corrupt as run_corrupt

    df = read_table(data, encoding=check_encoding(encoding), text_columns=[label_column], say=say)
    noisy, flipped = run_corrupt(
        df[label_column].cast(pl.String).to_numpy(), rate, kind=kind, seed=seed
    )
    result = df.with_columns(
        pl.col(label_column).alias(f"{label_column}_true"),
        pl.Series(label_column, noisy.astype(str)),
        pl.Series("flipped", flipped),
    )
    write_table(result, out)
    console.print(
        f"flipped {int(flipped.sum()):,} of {df.height:,} labels: "
        f"actual rate {flipped.mean():.4f} (asked {rate}) -> {out}"
    )
