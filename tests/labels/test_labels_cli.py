import polars as pl
import pytest
from typer.testing import CliRunner

from byod.cli.main import app

runner = CliRunner()


def _data(tmp_path) -> str:
    words = {"pos": "great wonderful love fun", "neg": "awful boring hate dull"}
    rows = [
        {"text": f"{words[lab]} item {i}", "label": lab}
        for i in range(40)
        for lab in ("pos", "neg")
    ]
    path = tmp_path / "reviews.csv"
    pl.DataFrame(rows).write_csv(path)
    return str(path)


def test_corrupt_then_audit_with_apply(tmp_path, tiny_st_folder, monkeypatch) -> None:
    monkeypatch.setenv("BYOD_HOME", str(tmp_path / "home"))
    src = _data(tmp_path)
    noisy = tmp_path / "noisy.csv"
    out = runner.invoke(app, ["labels", "corrupt", src, "--out", str(noisy), "--rate", "0.1"])
    assert out.exit_code == 0, out.output
    df = pl.read_csv(noisy)
    assert (
        df["flipped"].sum() == 8
        and "label_true" in df.columns
        and "actual rate 0.1000" in out.output
    )
    out = runner.invoke(app, ["labels", "audit", str(noisy), "--out", str(tmp_path / "audit"),
                              "--backbone", str(tiny_st_folder), "--n-rounds", "1", "--apply"])  # fmt: skip
    assert out.exit_code == 0, out.output
    for name in ("suspects.csv", "scores.csv", "summary.html", "audit.json", "noisy.corrected.csv"):
        assert (tmp_path / "audit" / name).exists()
    assert pl.read_csv(noisy).equals(df)  # the input is untouched
    page = (tmp_path / "audit" / "summary.html").read_text()
    assert "Top 30 suspects" in page and "<th>P(given)</th><th>−log10 P</th>" in page
    assert "0.000</td>" not in page and "Reading the scores" in page


def test_audit_errors_are_one_line(tmp_path) -> None:
    path = tmp_path / "d.csv"
    pl.DataFrame({"text": ["a", ""], "label": ["x", "y"]}).write_csv(path)
    out = runner.invoke(
        app, ["labels", "audit", str(path), "--out", str(tmp_path / "o"), "--label-column", "lab"]
    )
    assert out.exit_code == 2 and "['lab'] not found" in out.output
    out = runner.invoke(app, ["labels", "audit", str(path), "--out", str(tmp_path / "o")])
    assert out.exit_code == 2 and "1 empty or null value(s), e.g. rows [3]" in out.output


@pytest.mark.slow
def test_audit_ranks_flipped_rotten_tomatoes_labels_on_top(tmp_path, monkeypatch) -> None:
    from sklearn.metrics import roc_auc_score

    from byod.labels.datasets import rotten_tomatoes

    monkeypatch.setenv("BYOD_HOME", str(tmp_path / "home"))
    rt = rotten_tomatoes().sample(800, seed=0)
    rt.write_csv(tmp_path / "rt.csv")
    runner.invoke(
        app,
        [
            "labels",
            "corrupt",
            str(tmp_path / "rt.csv"),
            "--out",
            str(tmp_path / "noisy.csv"),
            "--rate",
            "0.2",
        ],
    )
    out = runner.invoke(
        app, ["labels", "audit", str(tmp_path / "noisy.csv"), "--out", str(tmp_path / "a")]
    )
    assert out.exit_code == 0, out.output
    scores = pl.read_csv(tmp_path / "a" / "scores.csv").sort("row")
    flipped = pl.read_csv(tmp_path / "noisy.csv")["flipped"]
    assert roc_auc_score(flipped.to_numpy(), -scores["score"].to_numpy()) > 0.75
    top = scores.sort("score").head(160)  # as many as were flipped, most suspect first
    assert flipped.gather(top["row"] - 1).mean() > 0.4  # most of the top are real flips


KOREAN = {"긍정": "배송이 빨라서 정말 좋아요", "부정": "포장이 엉망이고 실망했어요"}


def _korean_cp949(tmp_path) -> str:
    rows = [f"{KOREAN[lab]} {i},{lab}" for i in range(20) for lab in KOREAN]
    path = tmp_path / "korean.csv"
    path.write_bytes(("text,label\n" + "\n".join(rows) + "\n").encode("cp949"))
    return str(path)


def test_a_cp949_file_fails_in_one_line_then_reads_with_encoding(
    tmp_path, tiny_st_folder, monkeypatch
) -> None:
    monkeypatch.setenv("BYOD_HOME", str(tmp_path / "home"))
    src, noisy = _korean_cp949(tmp_path), tmp_path / "noisy.csv"
    out = runner.invoke(app, ["labels", "corrupt", src, "--out", str(noisy)])
    assert out.exit_code == 2 and len(out.output.strip().splitlines()) == 1, out.output
    assert "row 2 (counting the header), byte offset 11" in out.output
    assert "not valid utf-8" in out.output and "--encoding" in out.output
    out = runner.invoke(app, ["labels", "corrupt", src, "--out", str(noisy), "--encoding", "cp949"])
    assert out.exit_code == 0, out.output
    assert set(pl.read_csv(noisy)["label_true"]) == set(KOREAN)  # written back as UTF-8
    noisy.write_bytes(noisy.read_text(encoding="utf-8").encode("cp949"))
    out = runner.invoke(app, ["labels", "audit", str(noisy), "--out", str(tmp_path / "a"),
                              "--backbone", str(tiny_st_folder), "--n-rounds", "1",
                              "--encoding", "auto"])  # fmt: skip
    assert out.exit_code == 0, out.output
    assert "read as cp949 (--encoding auto)" in out.output
    assert set(pl.read_csv(tmp_path / "a" / "scores.csv")["given"]) == set(KOREAN)


def test_a_latin1_file_and_an_unknown_encoding(tmp_path) -> None:
    path = tmp_path / "fr.csv"
    rows = [f"Très bon café {i},{lab}" for i in range(10) for lab in ("pos", "négatif")]
    path.write_bytes(("text,label\n" + "\n".join(rows) + "\n").encode("latin-1"))
    out = runner.invoke(app, ["labels", "corrupt", str(path), "--out", str(tmp_path / "o.csv")])
    assert out.exit_code == 2 and "byte offset 13: bytes e8 " in out.output, out.output
    for enc in ("latin-1", "auto"):
        out = runner.invoke(app, ["labels", "corrupt", str(path), "--out",
                                  str(tmp_path / "o.csv"), "--encoding", enc])  # fmt: skip
        assert out.exit_code == 0, out.output
        assert set(pl.read_csv(tmp_path / "o.csv")["label_true"]) == {"pos", "négatif"}
    out = runner.invoke(app, ["labels", "audit", str(path), "--out", str(tmp_path / "a"),
                              "--encoding", "klingon"])  # fmt: skip
    assert out.exit_code == 2 and len(out.output.strip().splitlines()) == 1
    assert "--encoding 'klingon': unknown encoding" in out.output


def test_audit_reports_progress_when_output_is_not_a_terminal(
    tmp_path, tiny_st_folder, monkeypatch
) -> None:
    import byod.progress

    monkeypatch.setenv("BYOD_HOME", str(tmp_path / "home"))
    monkeypatch.setattr(byod.progress, "QUIET_S", 0.0)  # tiny data: every step is short
    out = runner.invoke(app, ["labels", "audit", _data(tmp_path), "--out", str(tmp_path / "a"),
                              "--backbone", str(tiny_st_folder), "--n-rounds", "2"])  # fmt: skip
    assert out.exit_code == 0, out.output
    lines = out.output.splitlines()
    embedding = [line for line in lines if line.startswith("embedding (")]
    audit = [line for line in lines if line.startswith("audit (rounds x splits): ")]
    assert embedding[-1].startswith(f"embedding ({tiny_st_folder}): 80/80 (100%), ")
    assert [line.split(": ")[1].split(" ")[0] for line in audit] == [f"{i}/6" for i in range(1, 7)]
    assert "texts/s" in embedding[-1] and "done in" in audit[-1] and "ETA" in audit[0]
    assert not any("\r" in line for line in embedding + audit)  # plain lines, no bar redraws
