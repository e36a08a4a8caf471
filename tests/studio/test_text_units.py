"""The text playground's form glue without a browser or a model."""

from __future__ import annotations

import pytest

from byod.errors import ByodError
from byod.studio.textflow import draft_from_form, held_out_split, parse_labels, task_of


def test_labels_and_examples_from_the_form() -> None:
    assert parse_labels(" 긍정, 부정,\n긍정 ,, 중립") == ["긍정", "부정", "중립"]
    draft = draft_from_form(
        {
            "labels": "긍정, 부정",
            "examples-긍정": "재미있다\n\n  최고의 영화 \n",
            "examples-부정": "지루하다",
            "text_type": "영화 리뷰",
            "label_type": "감정",
        }
    )
    assert draft.examples == {"긍정": ["재미있다", "최고의 영화"], "부정": ["지루하다"]}
    texts, labels = draft.pairs()
    assert labels == ["긍정", "긍정", "부정"] and texts[2] == "지루하다"
    task = task_of(draft)
    assert task.words == ("긍정", "부정")
    prompt = task.label_context([("재미있다", "긍정")], "볼만하다")
    assert "'긍정' 또는 '부정'" in prompt and prompt.endswith("영화 리뷰: 볼만하다 (감정:")
    with pytest.raises(ByodError, match="at least two labels"):
        task_of(draft_from_form({"labels": "긍정"}))
    with pytest.raises(ByodError, match="template"):
        draft_from_form({"labels": "a, b", "template": "nope"})


def test_held_out_split_keeps_one_of_each_label_on_both_sides() -> None:
    labels = ["a"] * 8 + ["b"] * 3
    train, test = held_out_split(labels)
    assert sorted([*train, *test]) == list(range(11))
    assert sum(labels[i] == "a" for i in test) == 2 and sum(labels[i] == "b" for i in test) == 1
    with pytest.raises(ByodError, match="at least 2 per label"):
        held_out_split(["a", "a", "b"])


def _audit_job(tmp_path, rows):  # noqa: ANN001, ANN202
    """A finished audit job's folder and state, its labels file and suggestions on disk."""
    import json

    import polars as pl

    labels = tmp_path / "labels.csv"
    pl.DataFrame({"text": [r[0] for r in rows], "label": [r[1] for r in rows]}).write_csv(labels)
    suggestions = [
        {"row": 1, "text": rows[1][0], "given": rows[1][1], "suggested": "a", "confidence": 0.9,
         "score": 0.1},
        {"row": 2, "text": rows[2][0], "given": rows[2][1], "suggested": "b", "confidence": 0.8,
         "score": 0.2},
    ]  # fmt: skip
    out = tmp_path / "audit.json"
    data = {"n": len(rows), "labels_file": str(labels), "suggestions": suggestions}
    out.write_text(json.dumps(data))
    return tmp_path, {"id": "j", "outputs": {"audit": str(out)}}, labels


def test_decisions_rewrite_the_labels_file_and_add_up(tmp_path) -> None:
    import polars as pl

    from byod.studio.corrections import audit_view, decide
    from byod.studio.textflow import TextDraft

    rows = [("x one", "a"), ("y two", "b"), ("z three", "a"), ("w four", "b")]
    folder, state, labels = _audit_job(tmp_path, rows)
    view = audit_view(folder, state)
    assert view["counts"] == {"suggested": 2, "accepted": 0, "rejected": 0, "pending": 2}
    assert view["next"] == 1
    draft = TextDraft(["a", "b"], {"a": ["x one", "z three"], "b": ["y two", "w four"]})
    decide(folder, state, 1, "accept", draft)
    assert pl.read_csv(labels)["label"].to_list() == ["a", "a", "a", "b"]
    assert draft.examples == {"a": ["x one", "z three", "y two"], "b": ["w four"]}
    decide(folder, state, 2, "reject", draft)
    assert pl.read_csv(labels)["label"].to_list() == ["a", "a", "a", "b"]  # unchanged
    view = audit_view(folder, state)
    assert view["counts"] == {"suggested": 2, "accepted": 1, "rejected": 1, "pending": 0}
    assert [r["decision"] for r in view["rows"]] == ["accepted", "rejected"]
    assert view["next"] is None
    with pytest.raises(ByodError, match="already accepted"):
        decide(folder, state, 1, "reject", draft)
    with pytest.raises(ByodError, match="accept or reject"):
        decide(folder, state, 2, "maybe", draft)
    with pytest.raises(ByodError, match="nothing for row 7"):
        decide(folder, state, 7, "accept", draft)


def test_an_accept_finds_its_example_after_the_file_moved(tmp_path) -> None:
    import polars as pl

    from byod.studio.corrections import correct_labels_file

    path = tmp_path / "labels.csv"
    pl.DataFrame({"text": ["new", "y two", "y two"], "label": ["a", "a", "b"]}).write_csv(path)
    correct_labels_file(path, 0, "y two", "b", "a")  # row 0 holds another text now
    assert pl.read_csv(path)["label"].to_list() == ["a", "a", "a"]
    with pytest.raises(ByodError, match="run the audit again"):
        correct_labels_file(path, 2, "y two", "b", "a")


def test_soft_labels_split_at_the_threshold(tmp_path) -> None:
    import polars as pl

    from byod.studio.softlabels import parse_threshold, put_threshold, soft_view

    csv = tmp_path / "soft-labels.csv"
    pl.DataFrame({"text": ["p", "q", "r", "s"], "label": ["a", "b", "a", "a"],
                  "confidence": [0.95, 0.6, 0.9, 0.5], "prob_a": [0.95, 0.4, 0.9, 0.5],
                  "prob_b": [0.05, 0.6, 0.1, 0.5]}).write_csv(csv)  # fmt: skip
    state = {"outputs": {"soft_labels": str(csv)}}
    view = soft_view(tmp_path, state, {"threshold": 0.9})
    assert (view["total"], view["kept"], view["dropped"]) == (4, 2, 2)
    assert view["per_label"] == {"a": 2} and [r["kept"] for r in view["rows"]] == [
        True,
        False,
        True,
        False,
    ]
    put_threshold(tmp_path, 0.5)  # the card's choice wins over the job's
    view = soft_view(tmp_path, state, {"threshold": 0.9})
    assert (view["kept"], view["dropped"], view["per_label"]) == (4, 0, {"a": 3, "b": 1})
    assert soft_view(tmp_path, {"outputs": {}}, {}) is None
    assert parse_threshold("") == 0.9 and parse_threshold("0.25") == 0.25
    for bad in ("x", "1.5", "-0.1"):
        with pytest.raises(ByodError, match="threshold"):
            parse_threshold(bad)


def test_audit_folds_follow_the_smallest_label() -> None:
    from byod.studio.textjobs import audit_folds

    assert audit_folds(["a"] * 9 + ["b"] * 7) == 5
    assert audit_folds(["a"] * 9 + ["b"] * 3) == 3
    with pytest.raises(ByodError, match="at least 2 per label"):
        audit_folds(["a", "a", "b"])
    with pytest.raises(ByodError, match="two labels"):
        audit_folds(["a", "a"])
