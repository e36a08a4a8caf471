import re

import pytest
from synthetic_run import make_run

from byod.errors import ByodError
from byod.report import build_report, summary_markdown

MD_IMAGE = re.compile(r"!\[[^\]]*\]\(([^)]+)\)")
PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


def test_writes_html_markdown_and_figures(built_report, full_run) -> None:
    out = full_run / "report"
    assert built_report.html == out / "index.html" and built_report.markdown == out / "report.md"
    assert [p.name for p in built_report.figures] == ["embedding-map.png", "training-curves.png"]
    assert built_report.missing == ()
    assert not [p for p in out.iterdir() if p.name.startswith(".")]  # no temporary files left


def test_html_is_self_contained(built_report) -> None:
    page = built_report.html.read_text(encoding="utf-8")
    assert "http://" not in page and "https://" not in page
    assert "<link" not in page and not re.search(r"<script[^>]*\bsrc=", page)
    assert page.count("<script>") == 1
    srcs = re.findall(r"<img [^>]*src='([^']*)'", page)
    assert len(srcs) == 2 and all(s.startswith("data:image/png;base64,") for s in srcs)
    assert "data-figures-expected='2'" in page
    assert "Missing from this run" not in page


def test_html_reads_summary_first(built_report) -> None:
    page = built_report.html.read_text(encoding="utf-8")
    order = [
        page.index("How to read this"),
        page.index("0.812 ± 0.010 (+0.312 vs majority)"),
        page.index("0.492 (+23%)"),
        page.index("id='map'"),
        page.index("id='clusters'"),
        page.index("id='curves'"),
        page.index("id='details'"),
    ]
    assert order == sorted(order)
    assert "features/clue" in page and "zorblax" in page  # the primary embedding and its words


def test_markdown_references_png_files_that_exist(built_report) -> None:
    md = built_report.markdown.read_text(encoding="utf-8")
    names = MD_IMAGE.findall(md)
    assert names == ["embedding-map.png", "training-curves.png"]
    for name in names:
        assert (built_report.markdown.parent / name).read_bytes()[:8] == PNG_MAGIC
    assert (
        "| clue | **0.812 ± 0.010 (+0.312 vs majority)** | **0.412 ± 0.020 (+0.062 vs majority)** |"
        in md
    )
    assert md.index("### Classification") < md.index("## Map of user embeddings")


def test_summary_markdown_has_both_tables(full_run) -> None:
    md = summary_markdown(full_run)
    assert md.startswith("### Classification\n")
    assert "| source | gender (AUROC) | age (accuracy) |" in md
    assert "| **clue-mlp** | **0.492 (+23%)** |" not in md  # the source name is never bold
    assert (
        "| clue-mlp | **0.492 (+23%)** | **0.250 (+25%)** | 0.040 (-20%) | **0.030 (+20%)** |" in md
    )


def test_empty_run_reports_what_is_missing(tmp_path) -> None:
    paths = build_report(tmp_path)
    assert paths.figures == ()
    page = paths.html.read_text(encoding="utf-8")
    md = paths.markdown.read_text(encoding="utf-8")
    for text in ("transfer/classify.parquet", "transfer/recommend.parquet", "features/", "labels.parquet",
                 "histories.parquet", "models/*/metrics.jsonl"):  # fmt: skip
        assert text in page and text.replace("*", "\\*") in md
    assert "data-figures-expected='0'" in page and "No transfer results" in page
    assert "transfer/recommend.parquet: not found" in summary_markdown(tmp_path)


def test_partial_run_shows_what_exists(tmp_path) -> None:
    run = make_run(tmp_path / "run", ("classify", "features", "run"))
    (run / "transfer" / "recommend.parquet").write_bytes(b"not parquet")
    paths = build_report(run, out_dir=tmp_path / "elsewhere", n_clusters=2, max_map_points=50)
    assert paths.html.parent == tmp_path / "elsewhere"
    assert [p.name for p in paths.figures] == ["embedding-map.png"]
    assert any("recommend.parquet: unreadable" in m for m in paths.missing)
    page = paths.html.read_text(encoding="utf-8")
    assert "distinctive words (c-TF-IDF)" not in page  # no histories: no words column
    assert "50 of 120 users" in page and "0.812 ± 0.010" in page


def test_missing_run_dir_is_a_user_error(tmp_path) -> None:
    with pytest.raises(ByodError, match="run directory not found"):
        build_report(tmp_path / "nope")
    with pytest.raises(ByodError, match="not a directory"):
        summary_markdown(make_run(tmp_path / "r", ("classify",)) / "transfer" / "classify.parquet")


def test_run_without_labels_renders_with_clusters_only(tmp_path) -> None:
    run = make_run(tmp_path / "run", ("recommend", "features", "histories", "run"))
    paths = build_report(run, n_clusters=3, max_map_points=60)
    assert [p.name for p in paths.figures] == ["embedding-map.png"]
    page = paths.html.read_text(encoding="utf-8")
    assert "the run has no labels to colour by" in page
    assert "top gender" not in page and "women" not in page and "age group" not in page
    assert "distinctive words (c-TF-IDF)" in page and "zorblax" in page
    assert any("labels.parquet: not found" in m for m in paths.missing)


def test_primary_and_colour_come_from_the_run(tmp_path) -> None:
    run = make_run(tmp_path / "run", ("features", "labels"))  # no run.json
    page = build_report(run, n_clusters=2, max_map_points=50).html.read_text(encoding="utf-8")
    assert "features/a-other" in page  # no recorded primary: the first table
    assert "colour = gender" in page  # no recorded colour: the first label column
    assert "top gender" in page and "top occupation" in page


def test_protocol_names_follow_the_negative_count(tmp_path) -> None:
    import polars as pl
    from synthetic_run import recommend_frame

    from byod.atomic import write_parquet
    from byod.layout import RunLayout

    run = RunLayout(tmp_path / "run")
    frame = recommend_frame().with_columns(pl.col("protocol").replace("sampled-100", "sampled-20"))
    write_parquet(frame, run.recommend)
    md = summary_markdown(run.root)
    assert "HR@10 (sampled-20)" in md and "sampled-100" not in md
    page = build_report(run.root).html.read_text(encoding="utf-8")
    assert "ranked among 20 sampled negatives" in page and "among 100" not in page
