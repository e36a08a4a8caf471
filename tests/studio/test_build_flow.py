"""Flow 2 in the browser: serialize → pretrain → embed as a background job; progress, the curve,
a page reload, cancel, and a failed job that shows its error line and keeps its files."""

from __future__ import annotations

from pathlib import Path

from playwright.sync_api import expect

from byod.features.table import read_feature_table

from .flows import DONE, build_users, map_data, shot, start_job


def _ensure_data(page, tiny_files) -> None:
    if "data" not in DONE:
        map_data(page, tiny_files[0])


def test_build_users_survives_a_reload(page, studio, tiny_files, tmp_path) -> None:
    _ensure_data(page, tiny_files)
    job = build_users(page, studio[2])
    card = page.locator(f"#job-{job}")
    expect(card.locator("svg polyline").first).to_be_attached()
    assert "100%" in card.locator(".pct").inner_text()
    page.reload()  # the job is read back from its state file
    card = page.locator(f"#job-{job}")
    expect(card).to_have_attribute("data-status", "done")
    features = card.locator(".outputs li", has_text="features").locator("code").text_content()
    table = read_feature_table(features)
    assert table.vectors.shape[0] == 40 and table.metadata["objective"] == "clue"
    shot(page, tmp_path, "studio-build")


def test_cancel_a_running_job_and_reload(page, studio, tiny_files) -> None:
    _ensure_data(page, tiny_files)
    page.goto("/build")
    page.fill("#backbone", str(studio[2]))
    page.fill("#epochs", "400")
    page.fill("#patience", "400")  # early stopping must not end the job before it is cancelled
    page.fill("#batch_size", "8")
    card = start_job(page, "build", "#start-build")
    expect(card).to_have_attribute("data-status", "running", timeout=60_000)
    expect(card.locator(".stage")).to_contain_text("pretrain", timeout=120_000)
    expect(card.locator(".rate")).to_contain_text("epochs/min", timeout=120_000)
    job = card.get_attribute("id")
    page.reload()  # still running after a reload, and the page answers meanwhile
    expect(page.locator(f"#{job}")).to_have_attribute("data-status", "running")
    page.locator(f"#{job} button.cancel").click()
    expect(page.locator(f"#{job}")).to_have_attribute("data-status", "cancelled")
    page.reload()
    expect(page.locator(f"#{job}")).to_have_attribute("data-status", "cancelled")
    kept = page.locator(f"#{job} .outputs code").first.text_content()
    assert Path(kept).name == "histories.parquet" and Path(kept).exists()


def test_a_failed_job_shows_its_error_and_keeps_its_files(page, studio, tiny_files) -> None:
    _ensure_data(page, tiny_files)
    page.goto("/build")
    page.fill("#backbone", "/no/such/backbone")
    card = start_job(page, "build", "#start-build")
    expect(card).to_have_attribute("data-status", "failed", timeout=120_000)
    expect(card.locator(".job-error")).to_contain_text("/no/such/backbone")
    kept = card.locator(".outputs code").first.text_content()
    assert Path(kept).name == "histories.parquet" and Path(kept).exists()
