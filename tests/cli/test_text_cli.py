"""``byod text``: train / predict / curve without an LLM on a tiny encoder; the whole chain on
Rotten Tomatoes with the packaged LLM (slow)."""

from __future__ import annotations

import json

import polars as pl
import pytest
from typer.testing import CliRunner

from byod.cli.main import app

runner = CliRunner()
WORDS = {"fresh": "love comedy kids music", "rotten": "war crime horror action"}


def _write(tmp_path, name: str, n: int, offset: int = 0, labelled: bool = True) -> str:
    rows = [
        {"text": f"{WORDS[lab]} {i % 30}", "label": lab}
        for i in range(offset, offset + n)
        for lab in WORDS
    ]
    df = pl.DataFrame(rows)
    path = tmp_path / name
    (df if labelled else df.drop("label")).write_csv(path)
    return str(path)


def test_train_predict_and_curve_without_llm(tmp_path, tiny_st_folder, monkeypatch) -> None:
    monkeypatch.setenv("BYOD_HOME", str(tmp_path / "home"))
    lab, unl, test = (
        _write(tmp_path, "l.csv", 4),
        _write(tmp_path, "u.csv", 20, 4, False),
        _write(tmp_path, "t.csv", 10, 30),
    )
    bb = str(tiny_st_folder)
    out = runner.invoke(
        app,
        [
            "text",
            "train",
            lab,
            "--out",
            str(tmp_path / "m"),
            "--unlabelled",
            unl,
            "--test",
            test,
            "--llm",
            "none",
            "--backbone",
            bb,
            "--task",
            "rotten-tomatoes",
        ],
    )
    assert out.exit_code == 0, out.output
    info = json.loads((tmp_path / "m" / "train.json").read_text())
    assert (
        info["n_labelled"] == 8 and info["n_unlabelled"] == 40 and info["test"]["accuracy"] >= 0.9
    )
    assert "unlabelled texts are not used" in " ".join(out.output.split())
    out = runner.invoke(
        app, ["text", "predict", str(tmp_path / "m"), test, "--out", str(tmp_path / "p.parquet")]
    )
    assert out.exit_code == 0, out.output
    pred = pl.read_parquet(tmp_path / "p.parquet")
    assert {"prediction", "confidence", "prob_fresh", "prob_rotten"} <= set(
        pred.columns
    ) and pred.height == 20
    out = runner.invoke(
        app,
        [
            "text",
            "curve",
            _write(tmp_path, "pool.csv", 30),
            "--test",
            test,
            "--out",
            str(tmp_path / "c"),
            "--budgets",
            "1,2,4",
            "--seeds",
            "2",
            "--llm",
            "none",
            "--backbone",
            bb,
            "--task",
            "rotten-tomatoes",
        ],
    )
    assert out.exit_code == 0, out.output
    curve = pl.read_parquet(tmp_path / "c" / "curve.parquet")
    assert curve.height == 3 * 2 * 2 and set(curve["method"]) == {"supervised", "hypermatch"}
    assert "labels per class to reach" in (tmp_path / "c" / "report" / "index.html").read_text()


def test_pool_selection_is_reported(tmp_path, tiny_st_folder, monkeypatch) -> None:
    monkeypatch.setenv("BYOD_HOME", str(tmp_path / "home"))
    lab = _write(tmp_path, "l.csv", 4)
    (tmp_path / "l.task.yaml").write_text("text_type: review\nlabel_type: verdict\n")
    pool = tmp_path / "pool.csv"
    pl.DataFrame(
        {
            "text": [f"space drama {i}" for i in range(20)]
            + [f"{WORDS['fresh']} {i}" for i in range(20)]
        }
    ).write_csv(pool)
    out = runner.invoke(
        app,
        [
            "text",
            "train",
            lab,
            "--out",
            str(tmp_path / "m"),
            "--pool",
            str(pool),
            "--select",
            "retrieval",
            "--llm",
            "none",
            "--backbone",
            str(tiny_st_folder),
        ],
    )
    assert out.exit_code == 0, out.output
    info = json.loads((tmp_path / "m" / "train.json").read_text())
    assert (
        info["pool_selection"].startswith("retrieval: kept")
        and "of 40 pool texts" in info["pool_selection"]
    )


def test_text_errors_are_one_line(tmp_path) -> None:
    path = tmp_path / "d.csv"
    pl.DataFrame({"review": ["a"], "label": ["x"]}).write_csv(path)
    out = runner.invoke(app, ["text", "augment", str(path), "--out", str(tmp_path / "o.csv")])
    assert out.exit_code == 2 and "['text'] not found" in out.output
    out = runner.invoke(
        app,
        [
            "text",
            "pseudolabel",
            str(path),
            "--out",
            str(tmp_path / "o.csv"),
            "--text-column",
            "review",
            "--llm",
            "gpt-17",
            "--task",
            "rotten-tomatoes",
        ],
    )
    assert out.exit_code == 2 and "neither a packaged model" in out.output
    out = runner.invoke(
        app, ["text", "predict", str(tmp_path), str(path), "--out", str(tmp_path / "o.csv")]
    )
    assert out.exit_code == 2 and "no classifier.json" in out.output


@pytest.mark.slow
def test_rotten_tomatoes_end_to_end_with_the_packaged_llm(tmp_path, monkeypatch) -> None:
    from byod.labels.datasets import rotten_tomatoes

    monkeypatch.setenv("BYOD_HOME", str(tmp_path / "home"))
    df = rotten_tomatoes().sample(n=260, seed=0, shuffle=True)
    labelled = df[:8].vstack(
        df.filter(pl.col("label") != df["label"][0])[:2]
    )  # both classes present
    paths = {name: tmp_path / f"{name}.csv" for name in ("lab", "unl", "test", "pool")}
    labelled.write_csv(paths["lab"])
    df[10:40].drop("label").write_csv(paths["unl"])
    df[40:140].write_csv(paths["test"])
    df[140:].write_csv(paths["pool"])
    llm = ["--llm", "smollm2", "--task", "rotten-tomatoes"]
    out = runner.invoke(
        app,
        [
            "text",
            "augment",
            str(paths["lab"]),
            "--out",
            str(tmp_path / "aug.csv"),
            "--n",
            "4",
            *llm,
        ],
    )
    assert out.exit_code == 0, out.output
    stats = json.loads((tmp_path / "aug.csv.stats.json").read_text())
    assert stats["requested"] == 4 == stats["kept"] + sum(stats["dropped"].values())
    assert "label outside the set" not in stats["dropped"]  # labels are scored over the set
    out = runner.invoke(
        app, ["text", "generate", "--out", str(tmp_path / "gen.csv"), "--n-per-label", "2", *llm]
    )
    assert out.exit_code == 0, out.output
    out = runner.invoke(
        app, ["text", "pseudolabel", str(paths["unl"]), "--out", str(tmp_path / "pl.csv"), *llm]
    )
    assert out.exit_code == 0, out.output
    pseudo = pl.read_csv(tmp_path / "pl.csv")
    assert (
        pseudo.height == 30
        and ((pseudo["prob_fresh"] + pseudo["prob_rotten"] - 1).abs() < 1e-6).all()
    )
    out = runner.invoke(
        app,
        [
            "text",
            "train",
            str(paths["lab"]),
            "--out",
            str(tmp_path / "m"),
            "--unlabelled",
            str(paths["unl"]),
            "--test",
            str(paths["test"]),
            "--augment-ratio",
            "0.5",
            *llm,
        ],
    )
    assert out.exit_code == 0, out.output
    info = json.loads((tmp_path / "m" / "train.json").read_text())
    assert info["test"]["n"] == 100 and info["teacher"]["n_checked"] == 10
    assert info["teacher"]["bar"] >= 0.5 and "LLM teacher" in out.output  # decision + numbers
    out = runner.invoke(
        app,
        [
            "text",
            "curve",
            str(paths["pool"]),
            "--test",
            str(paths["test"]),
            "--unlabelled",
            str(paths["unl"]),
            "--out",
            str(tmp_path / "c"),
            "--budgets",
            "2,4",
            "--seeds",
            "1",
            "--augment-max",
            "2",
            *llm,
        ],
    )
    assert out.exit_code == 0, out.output
    html = (tmp_path / "c" / "report" / "index.html").read_text()
    assert "Accuracy against labels" in html and "labels per class to reach" in html


def test_a_malformed_csv_is_a_one_line_error(tmp_path) -> None:
    path = tmp_path / "bad.csv"
    path.write_text("text\nfine\nWarm, funny and wise\n")
    out = runner.invoke(
        app, ["text", "pseudolabel", str(path), "--out", str(tmp_path / "o.csv"), "--task", "nsmc"]
    )
    assert out.exit_code == 2 and f"{path}: cannot read it as csv" in out.output.replace("\n", "")


def test_text_commands_read_cp949_with_encoding(tmp_path, tiny_st_folder, monkeypatch) -> None:
    monkeypatch.setenv("BYOD_HOME", str(tmp_path / "home"))
    words = {"긍정": "배송이 빨라서 좋아요", "부정": "포장이 엉망이에요"}
    rows = [f"{words[lab]} {i},{lab}" for i in range(6) for lab in words]
    path = tmp_path / "ko.csv"
    path.write_bytes(("text,label\n" + "\n".join(rows) + "\n").encode("cp949"))
    args = ["text", "train", str(path), "--out", str(tmp_path / "m"), "--llm", "none",
            "--backbone", str(tiny_st_folder), "--task", "nsmc"]  # fmt: skip
    out = runner.invoke(app, args)
    assert out.exit_code == 2 and len(out.output.strip().splitlines()) == 1, out.output
    assert "byte offset" in out.output and "--encoding" in out.output
    out = runner.invoke(app, [*args, "--test", str(path), "--encoding", "cp949"])
    assert out.exit_code == 0, out.output
    assert json.loads((tmp_path / "m" / "train.json").read_text())["test"]["n"] == 12
    out = runner.invoke(app, ["text", "predict", str(tmp_path / "m"), str(path), "--out",
                              str(tmp_path / "p.csv"), "--encoding", "auto"])  # fmt: skip
    assert out.exit_code == 0 and "read as cp949" in out.output, out.output
    assert set(pl.read_csv(tmp_path / "p.csv")["prediction"]) <= set(words)
