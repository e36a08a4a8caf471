import typer
from synthetic_run import classify_frame, make_run
from typer.testing import CliRunner

from byod.atomic import write_parquet
from byod.cli.report import report_command

runner = CliRunner()
app = typer.Typer()
app.command()(report_command)  # a one-command app: invoked without the command name


def test_report_command_prints_the_paths(tmp_path) -> None:
    run = make_run(tmp_path / "run", ("classify", "recommend", "features", "labels"))
    out = runner.invoke(app, [str(run), "--clusters", "4", "--seed", "1"])
    assert out.exit_code == 0, out.output
    assert (run / "report" / "index.html").exists() and (run / "report" / "report.md").exists()
    assert "index.html" in out.output and "report.md" in out.output
    assert "histories.parquet: not found" in out.output


def test_report_command_errors_are_one_line(tmp_path) -> None:
    out = runner.invoke(app, [str(tmp_path / "nope")])
    assert out.exit_code == 2 and "run directory not found" in out.output
    out = runner.invoke(app, [str(tmp_path), "--clusters", "0"])
    assert out.exit_code == 2 and "--clusters must be at least 1" in out.output


def test_missing_columns_are_printed_verbatim(tmp_path) -> None:
    run = make_run(tmp_path / "run[1]", ("classify",))
    write_parquet(classify_frame().drop("n_seeds"), run / "transfer" / "classify.parquet")
    out = runner.invoke(app, [str(run)])
    assert out.exit_code == 0, out.output
    assert "transfer/classify.parquet: lacks column(s) ['n_seeds']" in out.output
    assert str(run / "report" / "index.html") in out.output
