"""Build the run report: ``index.html`` (self-contained) and ``report.md`` with its PNG figures."""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime
from pathlib import Path

import polars as pl

from byod.atomic import atomic_path, write_text
from byod.report.inputs import RunInputs, check_run_dir, load_inputs, read_classify, read_recommend
from byod.report.page import Figure, Section, page_html, page_markdown
from byod.report.tables import (
    CLASSIFY_REFERENCE,
    RECOMMEND_REFERENCE,
    classification_detail,
    classification_summary,
    md_escape,
    recommendation_detail,
    recommendation_summary,
    table_markdown,
)
from byod.report.tuning import find_studies, read_studies, tuning_sections

__all__ = ["ReportPaths", "build_report", "summary_markdown"]

TITLE = "byod run report"
HTML_NAME = "index.html"
MARKDOWN_NAME = "report.md"
HOWTO = (
    "Start with the summary tables: each row is a source of user features or a recommender, "
    f"each cell a score where higher is better. Classification cells are the mean ± standard "
    f"deviation over seeds, with the difference to always predicting the most common label "
    f"({CLASSIFY_REFERENCE}) in brackets; recommendation cells carry the relative change vs "
    f"recommending the most popular items ({RECOMMEND_REFERENCE}). The map places users with "
    "similar embeddings near each other (t-SNE keeps neighbourhoods, not global distances: the "
    "gaps between far-apart groups mean little). The cluster table says who is in each k-means "
    "cluster of the embeddings (their most common labels, when the run has labels) and which "
    "words of their histories set them apart. The training "
    "curves show whether pretraining converged: a validation loss that rises while the train "
    "loss falls means overfitting. Where the run holds byod tune studies, the Tuning section "
    "puts the tuned heads next to the defaults. Full tables with every metric come last."
)


@dataclasses.dataclass(frozen=True)
class ReportPaths:
    """What :func:`build_report` wrote.

    Attributes:
        html: the self-contained page, ``<out>/index.html``.
        markdown: its Markdown twin, ``<out>/report.md``.
        figures: the PNG files next to the Markdown.
        missing: one sentence per input the run lacked.
    """

    html: Path
    markdown: Path
    figures: tuple[Path, ...]
    missing: tuple[str, ...]


def _summary_sections(
    classify: pl.DataFrame | None, recommend: pl.DataFrame | None
) -> list[Section]:
    intro = (
        "The headline numbers; the full tables are under Details."
        if classify is not None or recommend is not None
        else "No transfer results in this run (see Missing from this run above)."
    )
    sections = [Section("summary", "Summary", [intro])]
    if classify is not None:
        sections.append(
            Section(
                "summary-classification",
                "Classification: predicting user attributes from their features",
                [classification_summary(classify)],
                level=3,
            )
        )
    if recommend is not None:
        sections.append(
            Section(
                "summary-recommendation",
                "Recommendation: ranking each user's held-out next item",
                [recommendation_summary(recommend)],
                level=3,
            )
        )
    return sections


def _map_and_clusters(
    inputs: RunInputs, *, n_clusters: int, seed: int, max_map_points: int
) -> tuple[list[Section], list[Figure]]:
    from byod.report.clusters import (
        class_tfidf,
        cluster_documents,
        cluster_table,
        cluster_users,
        top_words,
    )
    from byod.report.figures import embedding_map, subsample, tsne_2d
    from byod.report.labels import user_labels

    table = inputs.embedding
    if table is None:
        return [], []
    vectors, user_ids = table.vectors, table.user_ids
    labels = user_labels(inputs.labels, user_ids, inputs.tasks)
    assignment = cluster_users(vectors, n_clusters, seed=seed)
    k = int(assignment.max()) + 1
    idx = subsample(len(user_ids), max_map_points, seed=seed)
    xy = tsne_2d(vectors[idx], seed=seed)
    source = f"features/{inputs.embedding_name}"
    colour = None if inputs.colour_by is None else labels.columns[inputs.colour_by][idx]
    left = (
        f"left: colour = {inputs.colour_by} (its {len(labels.top(inputs.colour_by))} most "
        "common labels; grey: other or unknown); right: k-means cluster"
        if inputs.colour_by is not None
        else "colour = k-means cluster (the run has no labels to colour by)"
    )
    figure = Figure(
        "embedding-map.png",
        embedding_map(xy, colour, inputs.colour_by, assignment[idx]),
        f"t-SNE map of {len(idx):,} users of {source}",
        f"{len(idx):,} of {len(user_ids):,} users (a seeded random sample when more than "
        f"{max_map_points:,}); {left}, numbered as in the cluster table.",
    )
    words = None
    if inputs.histories is not None:
        docs = cluster_documents(
            inputs.histories, user_ids, assignment, k, strip_pattern=inputs.strip_pattern
        )
        words = top_words(*class_tfidf(docs), n=8)
    sections = [
        Section(
            "map",
            "Map of user embeddings",
            [
                f"Embeddings from {source} ({len(user_ids):,} users × {vectors.shape[1]} "
                "dimensions), L2-normalised and projected to 2-D by t-SNE (PCA init, "
                f"seed {seed}).",
                figure,
            ],
        ),
        Section(
            "clusters",
            "Clusters",
            [
                f"k-means with k = {k} (seed {seed}) on the L2-normalised embeddings of "
                f"{source}; clusters are numbered by size.",
                cluster_table(assignment, labels, words),
            ],
        ),
    ]
    return sections, [figure]


def _curves(inputs: RunInputs) -> tuple[list[Section], list[Figure]]:
    from byod.report.figures import training_curves

    if not inputs.curves:
        return [], []
    figure = Figure(
        "training-curves.png",
        training_curves(inputs.curves),
        "Pretraining loss per epoch",
        "One colour per model in models/; solid: mean train loss of the epoch, dashed: "
        "validation loss at its end.",
    )
    names = ", ".join(sorted(inputs.curves))
    return [Section("curves", "Training curves", [f"Models: {names}.", figure])], [figure]


def _details(classify: pl.DataFrame | None, recommend: pl.DataFrame | None) -> list[Section]:
    sections = []
    if classify is None and recommend is None:
        return sections
    sections.append(Section("details", "Details", ["Every metric, task and segment."]))
    if classify is not None:
        sections.append(
            Section(
                "details-classification",
                "Classification, all metrics",
                [classification_detail(classify)],
                level=3,
            )
        )
    if recommend is not None:
        for protocol in recommend["protocol"].unique(maintain_order=True).to_list():
            sections.append(
                Section(
                    f"details-recommendation-{protocol}",
                    f"Recommendation, protocol {protocol}, all segments",
                    [recommendation_detail(recommend, protocol)],
                    level=3,
                )
            )
    return sections


def _meta(inputs: RunInputs) -> list[str]:
    lines = [
        f"Run: {inputs.run_dir.resolve()}",
        f"Generated: {datetime.now(UTC).strftime('%Y-%m-%d %H:%M:%S UTC')}",
    ]
    if inputs.embedding is not None:
        t = inputs.embedding
        lines.append(
            f"Embedding: features/{inputs.embedding_name} ({t.path.name}, "
            f"{t.features.height:,} users × {t.metadata.get('dim', t.vectors.shape[1])} dims)"
        )
    return lines


def build_report(
    run_dir: str | Path,
    *,
    out_dir: str | Path | None = None,
    seed: int = 0,
    max_map_points: int = 3000,
    n_clusters: int = 8,
    tuning: tuple[str | Path, ...] = (),
) -> ReportPaths:
    """Write the report of a run: HTML page, Markdown twin and PNG figures.

    Args:
        run_dir: the run directory (``transfer/``, ``features/``, ``models/``, ...).
        out_dir: where to write; default ``<run_dir>/report``.
        seed: seed of the map sample, t-SNE and k-means.
        max_map_points: at most this many users on the map (a seeded random sample).
        n_clusters: k of k-means.
        tuning: study folders of ``byod tune`` to show besides ``<run_dir>/tuning/*``.

    Returns:
        The written paths and what was missing.

    Raises:
        ByodError: ``run_dir`` does not exist or is not a directory.
    """
    inputs = load_inputs(run_dir)
    out = Path(out_dir) if out_dir is not None else inputs.run_dir / "report"
    map_sections, map_figures = _map_and_clusters(
        inputs, n_clusters=n_clusters, seed=seed, max_map_points=max_map_points
    )
    curve_sections, curve_figures = _curves(inputs)
    missing = list(inputs.missing)
    studies = read_studies(find_studies(inputs.run_dir, tuple(map(Path, tuning))), missing)
    tuning_sections_, tuning_figures = tuning_sections(studies)
    sections = [
        *_summary_sections(inputs.classify, inputs.recommend),
        *map_sections,
        *curve_sections,
        *tuning_sections_,
        *_details(inputs.classify, inputs.recommend),
    ]
    figures = [*map_figures, *curve_figures, *tuning_figures]
    meta = _meta(inputs)
    for fig in figures:
        with atomic_path(out / fig.name) as tmp:
            tmp.write_bytes(fig.png)
    markdown = write_text(page_markdown(TITLE, meta, HOWTO, missing, sections), out / MARKDOWN_NAME)
    html = write_text(page_html(TITLE, meta, HOWTO, missing, sections), out / HTML_NAME)
    return ReportPaths(html, markdown, tuple(out / f.name for f in figures), tuple(missing))


def summary_markdown(run_dir: str | Path) -> str:
    """The two summary tables (classification, recommendation) as Markdown.

    Args:
        run_dir: the run directory.

    Returns:
        Markdown with a heading per table; a line per missing results file instead of its table.

    Raises:
        ByodError: ``run_dir`` does not exist or is not a directory.
    """
    run_dir = check_run_dir(run_dir)
    missing: list[str] = []
    classify, recommend = read_classify(run_dir, missing), read_recommend(run_dir, missing)
    parts = []
    if classify is not None:
        parts.append("### Classification\n\n" + table_markdown(classification_summary(classify)))
    if recommend is not None:
        parts.append("### Recommendation\n\n" + table_markdown(recommendation_summary(recommend)))
    parts.extend(f"*{md_escape(m)}*\n" for m in missing)
    return "\n".join(parts)
