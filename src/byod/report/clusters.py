"""Cluster users by embedding and describe each cluster: who is in it and what they do.

Clusters come from k-means on the L2-normalised embeddings (so from cosine geometry); each is
described by its size, the most common label of each label column the run has, and its most
distinctive event words by class-based TF-IDF (c-TF-IDF, as in BERTopic): the event texts of a
cluster's users form one document per cluster, and a word scores

    tf(word, cluster) / words(cluster) * log(1 + mean words per cluster / tf(word, all clusters))

so a word scores high when it is frequent in one cluster and rare in the others.
"""

from __future__ import annotations

import collections

import numpy as np
import polars as pl
from sklearn.cluster import KMeans
from sklearn.feature_extraction.text import CountVectorizer

from byod.report.labels import UserLabels
from byod.report.tables import Table
from byod.vectors import l2_normalise

__all__ = [
    "TOKEN_PATTERN",
    "cluster_users",
    "cluster_documents",
    "class_tfidf",
    "top_words",
    "cluster_table",
]

# Words of 2+ characters (hyphens kept, e.g. "sci-fi"), never a pure number such as a year.
TOKEN_PATTERN = r"(?u)\b(?!\d+\b)\w[\w-]*\w\b"


def cluster_users(vectors: np.ndarray, k: int = 8, *, seed: int = 0) -> np.ndarray:
    """K-means on the normalised embeddings, clusters numbered by size (0 = the largest).

    Args:
        vectors: ``(n_users, dim)`` embeddings.
        k: the number of clusters (at most ``n_users``).
        seed: k-means seed.

    Returns:
        ``(n_users,)`` int64 cluster ids in ``0 .. min(k, n_users) - 1``.
    """
    x = l2_normalise(np.asarray(vectors, dtype=np.float32))
    k = max(1, min(k, len(x)))
    raw = KMeans(n_clusters=k, n_init=4, random_state=seed).fit_predict(x)
    sizes = np.bincount(raw, minlength=k)
    order = np.lexsort((np.arange(k), -sizes))  # by size, ties by the k-means id
    rank = np.empty(k, dtype=np.int64)
    rank[order] = np.arange(k)
    return rank[raw]


def cluster_documents(
    histories: pl.DataFrame,
    user_ids: list[str],
    assignment: np.ndarray,
    k: int,
    *,
    strip_pattern: str | None = None,
) -> list[str]:
    """One document per cluster: its users' event texts joined.

    Args:
        histories: ``user_id, event_texts`` rows (several per user when several services).
        user_ids: the clustered users, ``(n_users,)``.
        assignment: their cluster ids, ``(n_users,)``.
        k: the number of clusters.
        strip_pattern: a regex removed from every event text first (the run's choice, e.g. a
            rating every event carries); None keeps the texts whole.

    Returns:
        ``k`` documents ("" for a cluster whose users have no events).
    """
    members = pl.DataFrame(
        {"user_id": user_ids, "cluster": assignment.astype(np.int64)},
        schema={"user_id": pl.String, "cluster": pl.Int64},
    )
    texts = pl.col("event_texts")
    if strip_pattern:
        texts = texts.str.replace_all(strip_pattern, "")
    docs = (
        histories.select(pl.col("user_id").cast(pl.String), "event_texts")
        .join(members, on="user_id", how="inner")
        .explode("event_texts")
        .drop_nulls("event_texts")
        .group_by("cluster")
        .agg(texts.str.join(" \n "))
    )
    by_cluster = dict(zip(docs["cluster"], docs["event_texts"], strict=True))
    return [by_cluster.get(c, "") for c in range(k)]


def class_tfidf(
    documents: list[str], *, reduce_frequent_words: bool = True
) -> tuple[np.ndarray, np.ndarray]:
    """c-TF-IDF scores of every word for every document (one document per cluster).

    Args:
        documents: ``(n_clusters,)`` texts.
        reduce_frequent_words: square-root the term frequencies (BERTopic's option). Words every
            event repeats (MovieLens genres) otherwise crowd out the telling ones (titles).

    Returns:
        ``scores`` ``(n_clusters, n_words)`` float64 and ``words`` ``(n_words,)`` str; both empty
        (``(n_clusters, 0)``, ``(0,)``) when no document has a usable word.
    """
    vectorizer = CountVectorizer(stop_words="english", token_pattern=TOKEN_PATTERN)
    try:
        counts = vectorizer.fit_transform(documents).toarray().astype(np.float64)
    except ValueError:  # empty vocabulary: every word is a stop word or a number
        return np.zeros((len(documents), 0)), np.array([], dtype=str)
    words = vectorizer.get_feature_names_out()
    per_doc = counts.sum(axis=1, keepdims=True)
    tf = counts / np.where(per_doc > 0, per_doc, 1.0)
    if reduce_frequent_words:
        tf = np.sqrt(tf)
    idf = np.log(1.0 + per_doc.mean() / counts.sum(axis=0))
    return tf * idf, words


def top_words(scores: np.ndarray, words: np.ndarray, n: int = 8) -> list[list[str]]:
    """The ``n`` highest-scoring words of each row (ties alphabetically; zero scores dropped)."""
    out = []
    for row in scores:
        order = np.lexsort((words, -row))[:n]
        out.append([str(words[i]) for i in order if row[i] > 0])
    return out


def _top(values: np.ndarray) -> str:
    known = [v for v in values if v is not None]
    if not known:
        return "–"
    label, count = sorted(collections.Counter(known).items(), key=lambda kv: (-kv[1], kv[0]))[0]
    return f"{label} ({count / len(known):.0%})"


def cluster_table(
    assignment: np.ndarray,
    labels: UserLabels,
    words: list[list[str]] | None,
) -> Table:
    """One row per cluster: size, the top label of each label column, distinctive words.

    Args:
        assignment: ``(n_users,)`` cluster ids from :func:`cluster_users`.
        labels: the users' labels (any columns, or none), aligned to ``assignment``.
        words: per cluster its distinctive words (:func:`top_words`), or None without histories.

    Returns:
        The cluster table; a top label's share is among the cluster's users with that label.
    """
    k = int(assignment.max()) + 1 if len(assignment) else 0
    rows = []
    for c in range(k):
        members = assignment == c
        row = [str(c + 1), f"{int(members.sum()):,} ({members.mean():.0%})"]
        row += [_top(values[members]) for values in labels.columns.values()]
        if words is not None:
            row.append(", ".join(words[c]) or "–")
        rows.append(row)
    header = ["cluster", "users", *(f"top {task}" for task in labels.tasks)]
    if words is not None:
        header.append("distinctive words (c-TF-IDF)")
    caption = "Users (share of all users)"
    if labels.tasks:
        caption += "; top label: the most common one, as a share of the cluster's users with it"
    if words is not None:
        caption += (
            "; distinctive words: frequent in the cluster's event texts and rare in the other "
            "clusters'"
        )
    return Table(header, rows, caption=caption + ".")
