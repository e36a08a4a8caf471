import polars as pl
from synthetic_run import classify_frame, recommend_frame

from byod.report.tables import (
    Table,
    classification_detail,
    classification_summary,
    headline_metric,
    recommendation_detail,
    recommendation_summary,
    table_html,
    table_markdown,
)


def _by_source(table: Table) -> dict[str, list[str]]:
    return {row[0]: row[1:] for row in table.rows}


def test_headline_metric_is_auroc_where_reported_else_accuracy() -> None:
    df = classify_frame()
    assert headline_metric(df, "gender") == "auroc"
    assert headline_metric(df, "age") == "accuracy"
    assert headline_metric(df.filter(pl.col("metric") == "macro_f1"), "age") is None


def test_classification_summary_cells_and_deltas() -> None:
    table = classification_summary(classify_frame())
    assert table.header == ["source", "gender (AUROC)", "age (accuracy)"]
    assert [row[0] for row in table.rows] == ["majority", "tfidf-items", "clue"]
    cells = _by_source(table)
    assert cells["majority"] == ["0.500 ± 0.000", "0.350 ± 0.000"]
    # 0.812 - 0.500 = +0.312; 0.412 - 0.350 = +0.062; 0.701 - 0.500 = +0.201
    assert cells["clue"] == [
        "0.812 ± 0.010 (+0.312 vs majority)",
        "0.412 ± 0.020 (+0.062 vs majority)",
    ]
    assert cells["tfidf-items"][0] == "0.701 ± 0.004 (+0.201 vs majority)"
    assert table.bold == {(2, 1), (2, 2)}  # clue is best on both tasks


def test_classification_summary_without_majority_has_no_delta() -> None:
    table = classification_summary(classify_frame().filter(pl.col("source") != "majority"))
    assert _by_source(table)["clue"][0] == "0.812 ± 0.010"


def test_recommendation_summary_relative_change_vs_popularity() -> None:
    table = recommendation_summary(recommend_frame())
    assert table.header == [
        "source",
        "HR@10 (sampled-100)",
        "NDCG@10 (sampled-100)",
        "HR@10 (full)",
        "NDCG@10 (full)",
    ]
    cells = _by_source(table)
    assert cells["popularity"] == ["0.400", "0.200", "0.050", "0.025"]
    # 0.492/0.400 - 1 = +23%; 0.250/0.200 - 1 = +25%; 0.040/0.050 - 1 = -20%; 0.030/0.025 - 1 = +20%
    assert cells["clue-mlp"] == ["0.492 (+23%)", "0.250 (+25%)", "0.040 (-20%)", "0.030 (+20%)"]
    assert table.bold == {(1, 1), (1, 2), (0, 3), (1, 4)}


def test_detail_tables_hold_every_metric_and_segment() -> None:
    detail = classification_detail(classify_frame())
    assert detail.header == ["task", "source", "AUROC", "accuracy", "macro F1", "seeds"]
    clue_age = next(r for r in detail.rows if r[:2] == ["age", "clue"])
    assert clue_age == ["age", "clue", "–", "0.412 ± 0.020", "0.301 ± 0.015", "3"]
    rec = recommendation_detail(recommend_frame(), "sampled-100")
    assert [r[:2] for r in rec.rows] == [
        ["all", "popularity"],
        ["all", "clue-mlp"],
        ["cold", "popularity"],
        ["cold", "clue-mlp"],
    ]
    assert rec.header == ["segment", "source", "HR@10", "NDCG@10", "MRR", "users"]
    assert rec.rows[3] == ["cold", "clue-mlp", "0.350", "–", "–", "20"]


def test_html_and_markdown_render_the_same_cells() -> None:
    table = Table(
        ["source", "score"], [["a|b <x>", "0.5"], ["c", "0.7"]], frozenset({(1, 1)}), "cap"
    )
    md = table_markdown(table)
    assert md.splitlines()[:4] == [
        "| source | score |",
        "|---|---:|",
        "| a\\|b \\<x\\> | 0.5 |",
        "| c | **0.7** |",
    ]
    assert "*cap*" in md
    html = table_html(table)
    assert "<td>a|b &lt;x&gt;</td>" in html and "<td class='num'><b>0.7</b></td>" in html


def test_a_source_with_several_heads_gets_a_row_per_head(tmp_path) -> None:
    import polars as pl

    from byod.report.inputs import read_classify

    rows = [("clue", "logistic", 0.8), ("clue", "mlp", 0.7), ("majority", "majority", 0.5)]
    df = pl.DataFrame(
        [{"source": s, "head": h, "task": "gender", "metric": "auroc", "mean": m, "std": 0.0,
          "n_seeds": 5} for s, h, m in rows]
    )  # fmt: skip
    (tmp_path / "transfer").mkdir()
    df.write_parquet(tmp_path / "transfer" / "classify.parquet")
    folded = read_classify(tmp_path, [])
    assert sorted(folded["source"]) == ["clue (logistic)", "clue (mlp)", "majority"]
