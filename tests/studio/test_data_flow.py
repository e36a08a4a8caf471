"""Flow 1 in the browser: upload a log, preview, map columns, live text preview, validate."""

from __future__ import annotations

import yaml
from playwright.sync_api import expect

from byod.data.config import load_ingest_config
from byod.data.ingest import ingest_sources

from .flows import map_data, shot


def test_map_a_log_and_validate(page, studio, tiny_files, tmp_path) -> None:
    log, _ = tiny_files
    map_data(page, log)
    counts = {
        k: int(page.locator(f"#counts [data-count={k}]").inner_text())
        for k in ("read", "accepted", "rejected", "duplicates")
    }
    assert counts["read"] == counts["accepted"] + counts["rejected"] + counts["duplicates"]
    assert counts["rejected"] == 3 and counts["duplicates"] == 1
    reasons = page.locator("#reasons").inner_text()
    assert "time" in reasons and "user" in reasons, reasons
    expect(page.locator("#rejects tbody tr")).to_have_count(4)
    # The saved mapping is the YAML `byod data ingest` reads, and gives the same counts.
    yaml_path = page.locator("#yaml-path").inner_text()
    cfg = load_ingest_config(yaml_path)
    assert cfg.sources[0].timezone == "Asia/Seoul" and cfg.sources[0].service_column == "svc"
    again = ingest_sources(cfg.sources).summary
    assert {k: again[k] for k in counts} == counts
    assert (
        yaml.safe_load(page.locator("#yaml").text_content())["sources"][0]["user_column"] == "uid"
    )
    expect(page.locator("#sources li")).to_have_count(1)
    shot(page, tmp_path, "studio-data")


def test_a_bad_template_says_why_and_korean_switch(page, studio, tiny_files) -> None:
    log, _ = tiny_files
    page.goto("/data")
    page.fill("#path", str(log))
    page.keyboard.press("Enter")  # keyboard only: submit the path form
    page.wait_for_selector("#text")
    page.fill("#text", "{no_such_column}")
    expect(page.locator("#text-preview .error-line")).to_contain_text("no_such_column")
    page.click("#lang-switch")
    expect(page.locator("h1")).to_have_text("1. 데이터 가져오기")
    page.click("#lang-switch")
    expect(page.locator("h1")).to_have_text("1. Bring data")


UNLABELLED = """() => [...document.querySelectorAll('input:not([type=hidden]), select, button')]
  .filter(e => !(e.labels && e.labels.length) && !e.getAttribute('aria-label') && !e.textContent.trim())
  .map(e => e.outerHTML)"""


def test_keyboard_and_labels(page, studio, tiny_files) -> None:
    page.goto("/data")
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.className") == "skip"
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.getAttribute('href')") == "/data"
    page.fill("#path", str(tiny_files[0]))
    page.keyboard.press("Enter")
    page.wait_for_selector("#mapping-form")
    assert page.evaluate(UNLABELLED) == []  # every control is named for a screen reader
    for step in ("/build", "/tasks", "/deploy"):
        page.goto(step)
        page.wait_for_load_state("networkidle")
        assert page.evaluate(UNLABELLED) == [], step
