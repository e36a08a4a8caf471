"""The slow flow on real logs: a sample of the shared Amazon Arts + Office logs (two services,
order-only steps) mapped in the browser, then users built with the packaged MiniLM."""

from __future__ import annotations

from pathlib import Path

import polars as pl
import pytest
from playwright.sync_api import expect

from .conftest import start_studio, stop
from .flows import shot, wait_job

DATA = Path(__file__).resolve().parents[2].parent / "shared" / "data" / "amazon-arts-office"
N_USERS = 60


def _sample(folder: Path) -> list[Path]:
    users = pl.read_csv(DATA / "arts.csv.gz")["reviewer_id"].unique(maintain_order=True)[:N_USERS]
    out = []
    for name in ("arts", "office"):
        part = pl.read_csv(DATA / f"{name}.csv.gz").filter(
            pl.col("reviewer_id").is_in(users.to_list())
        )
        part.write_csv(folder / f"{name}.csv")
        out.append(folder / f"{name}.csv")
    return out


def _map(page, path: Path, service: str) -> None:
    page.goto("/data")
    page.fill("#path", str(path))
    page.click("#path-form button[type=submit]")
    page.select_option("#user_column", "reviewer_id")
    page.select_option("#time_column", "step")
    page.select_option("#time_format", "ordinal")
    page.fill("#service", service)
    page.select_option("#item_column", "item_id")
    page.fill("#text", "{title} | {category}")
    expect(page.locator("#texts li").first).to_contain_text(" | ")
    page.click("#validate")
    expect(page.locator("#validation")).to_be_visible()


@pytest.mark.slow
def test_amazon_arts_office_sample_in_the_browser(browser, tmp_path) -> None:
    if not DATA.is_dir():
        pytest.skip(f"{DATA} is absent (the shared data folder; see its README)")
    arts, office = _sample(tmp_path)
    proc, base = start_studio(tmp_path / "work", "minilm", tmp_path / "home")
    context = browser.new_context(viewport={"width": 1280, "height": 900}, base_url=base)
    page = context.new_page()
    page.set_default_timeout(120_000)
    try:
        _map(page, arts, "arts")
        _map(page, office, "office")
        expect(page.locator("#sources li")).to_have_count(2)
        read = int(page.locator("#counts [data-count=read]").inner_text())
        accepted = int(page.locator("#counts [data-count=accepted]").inner_text())
        assert read == accepted > 1000  # the shared logs are clean
        page.goto("/build")
        page.fill("#epochs", "1")
        page.fill("#batch_size", "32")
        page.fill("#max_events", "32")
        job = wait_job(page, "build", "#start-build", timeout_ms=540_000)
        users = page.locator(f"#job-{job} .stage").inner_text()
        assert "done" in users
        shot(page, tmp_path, "studio-amazon-build")
    finally:
        context.close()
        stop(proc)
