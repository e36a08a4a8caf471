"""Browser steps shared by the flow tests (each flow builds on the ones before it)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from PIL import Image
from playwright.sync_api import Locator, Page, expect

SHOTS: dict[str, Path] = {}
DONE: dict[str, str] = {}  # flow -> job id (or "ok"), so later flows reuse earlier ones


def shot(page: Page, folder: Path, name: str) -> Path:
    """A full-page screenshot, checked not to be blank (grey-level spread and many colours)."""
    path = folder / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)
    pixels = np.asarray(Image.open(path).convert("RGB"), dtype=np.float32)
    grey = pixels.mean(axis=2)
    colours = len(np.unique(pixels.reshape(-1, 3)[::7], axis=0))
    assert grey.std() > 12 and colours > 30, (
        f"{path} looks blank (std {grey.std():.1f}, {colours} colours)"
    )
    SHOTS[name] = path
    return path


def map_data(page: Page, log: Path) -> None:
    """Upload the log, map its columns, validate (the same ingest as the CLI)."""
    page.goto("/data")
    page.set_input_files("#file", str(log))
    page.click("#upload-form button[type=submit]")
    expect(page.locator("#preview tbody tr")).to_have_count(8)
    page.select_option("#user_column", "uid")
    page.select_option("#time_column", "ts")
    page.select_option("#time_format", "%Y-%m-%d %H:%M:%S")
    page.fill("#timezone", "Asia/Seoul")
    page.select_option("#service_column", "svc")
    page.select_option("#item_column", "item")
    page.fill("#text", "{title} | {category}")
    expect(page.locator("#texts li").first).to_contain_text(" | ")
    page.click("#validate")
    expect(page.locator("#validation")).to_be_visible()
    DONE["data"] = "ok"


def start_job(page: Page, kind: str, button: str) -> Locator:
    """Click ``button`` and return the card of the job it started (not an older one)."""
    cards = page.locator(f"article.job[data-kind={kind}]")
    page.wait_for_load_state("networkidle")  # the listed jobs have loaded their cards
    before = cards.count()
    page.click(button)
    expect(cards).to_have_count(before + 1)
    return page.locator(f"#{cards.first.get_attribute('id')}")


def wait_job(page: Page, kind: str, button: str, timeout_ms: int = 120_000) -> str:
    """Start a job with ``button`` and wait for it to finish; its id."""
    card = start_job(page, kind, button)
    expect(card).to_have_attribute("data-status", "done", timeout=timeout_ms)
    return card.get_attribute("id").removeprefix("job-")


def build_users(page: Page, backbone: Path, epochs: int = 2) -> str:
    """Start serialize → pretrain → embed and wait for it."""
    page.goto("/build")
    page.fill("#backbone", str(backbone))
    page.fill("#epochs", str(epochs))
    page.fill("#batch_size", "8")
    page.fill("#max_events", "16")
    DONE["build"] = wait_job(page, "build", "#start-build")
    return DONE["build"]


def train_head(page: Page, labels: Path) -> str:
    """Upload labels, train the head and wait for its metrics."""
    page.goto("/tasks")
    page.set_input_files("#labels-file", str(labels))
    page.click("#labels-form button[type=submit]")
    page.select_option("#user_column", "uid")
    page.select_option("#label_column", "likes")
    page.fill("#task", "likes")
    DONE["tasks"] = wait_job(page, "classify", "#train")
    return DONE["tasks"]
