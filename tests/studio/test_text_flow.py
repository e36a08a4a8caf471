"""Flow 5 in the browser: labels 긍정/부정 and a few examples → the prompt byod builds and the
LLM's soft labels for a test sentence → a HyperMatch classifier trained as a job, its held-out
accuracy → deployed beside the users, promoted, its curl line answered.

The fast variant uses the tiny BERT (examples made of words it knows) and SmolLM2-135M (the
smallest packaged LLM; it loads a real model, hence ``slow``); the NSMC variant 16 real reviews
from ``../shared/data``, the multilingual e5-small and Qwen2.5-0.5B (Korean)."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect

from .conftest import start_studio, stop, write_tiny_log
from .flows import DONE, build_users, map_data, shot, wait_job
from .test_tasks_deploy_flow import _curl

SHARED = Path(__file__).resolve().parents[2].parent / "shared" / "data"
POS = ["action action 1", "action item 2", "action 3 item", "item action 4"]
NEG = ["drama drama 5", "drama item 6", "drama 7 item", "item drama 8"]


def _try(page: Page, sentence: str, llm: str) -> dict[str, float]:
    page.fill("#sentence", sentence)
    page.fill("#llm", llm)
    page.click("#try")
    rows = page.locator("#soft-labels tbody tr")
    expect(rows).to_have_count(2, timeout=240_000)  # the first try loads the LLM
    expect(page.locator("#prompt")).to_contain_text(sentence)
    probs = {r.get_attribute("data-label"): float(r.locator(".prob").inner_text())
             for r in rows.all()}  # fmt: skip
    assert set(probs) == {"긍정", "부정"} and abs(sum(probs.values()) - 1) < 0.01
    assert page.locator("#likeliest").inner_text() == max(probs, key=probs.get)
    return probs


def _train_and_deploy(page: Page, backbone: str, folder: Path, name: str) -> None:
    page.fill("#text-name", name)
    page.fill("#text-backbone", backbone)
    page.select_option("#teacher", "none")
    job = wait_job(page, "text", "#train-text", timeout_ms=240_000)
    card = page.locator(f"#job-{job}")
    accuracy = float(card.locator(".accuracy").inner_text())
    assert 0.0 <= accuracy <= 1.0
    assert card.locator("table.heldout-rows tbody tr").count() >= 2  # one held out per label
    card.locator("button.deploy-text").click()
    deploy = page.locator("#text-deploys article.job[data-kind=deploy]").first
    expect(deploy).to_have_attribute("data-status", "done", timeout=240_000)
    deploy.locator("button.promote").click()
    expect(page.locator("#served .heads")).to_contain_text(name, timeout=120_000)
    line = next(
        ln for ln in page.locator("#curl").inner_text().splitlines() if f"/v1/text/{name}/" in ln
    )
    reply = _curl(line, None)
    assert reply.status_code == 200, (line, reply.text)
    (result,) = reply.json()["results"]
    assert result["label"] in {"긍정", "부정"}
    shot(page, folder, f"studio-text-{name}")
    if os.environ.get("BYOD_SHOTS_DIR"):  # to look at them
        page.screenshot(path=f"{os.environ['BYOD_SHOTS_DIR']}/text-{name}.png", full_page=True)


@pytest.mark.slow
def test_text_playground_train_and_deploy(page, studio, tiny_files, tmp_path) -> None:
    if "data" not in DONE:
        map_data(page, tiny_files[0])
    if "build" not in DONE:
        build_users(page, studio[2])
    page.goto("/text")
    page.fill("#labels", "긍정, 부정, 중립")
    page.locator("#labels").dispatch_event("change")
    expect(page.locator("textarea.examples")).to_have_count(3)  # one box per label
    page.fill("#labels", "긍정, 부정")
    page.locator("#labels").dispatch_event("change")
    expect(page.locator("textarea.examples")).to_have_count(2)
    page.fill("#ex-0", "\n".join(POS))
    page.fill("#ex-1", "\n".join(NEG))
    probs = _try(page, "action 9", "smollm2")
    expect(page.locator("#prompt")).to_contain_text(POS[0])
    shot(page, tmp_path, "studio-text-try")
    assert all(0 < p < 1 for p in probs.values())
    page.fill("#gen-n", "2")  # the LLM writes examples; kept + dropped add up; accept them
    gen = page.locator(f"#job-{wait_job(page, 'augment', '#generate', timeout_ms=240_000)}")
    counts = gen.locator(".gen-counts")
    requested, written = (
        int(counts.get_attribute("data-requested")),
        int(counts.get_attribute("data-written")),
    )
    assert requested == 2 and 0 <= written <= 2
    assert gen.locator("table.generated tbody tr").count() == written
    if written:
        before = sum(len(page.locator(f"#ex-{i}").input_value().splitlines()) for i in (0, 1))
        gen.locator("button.accept").click()
        expect(page.locator("#added")).to_contain_text(f"/ {written}")
        after = sum(len(page.locator(f"#ex-{i}").input_value().splitlines()) for i in (0, 1))
        assert before < after <= before + written
    _train_and_deploy(page, str(studio[2]), tmp_path, "sentiment")
    page.click("#lang-switch")
    expect(page.locator("h1")).to_have_text("5. 텍스트 분류기")
    expect(page.locator("#try")).to_have_text("프롬프트와 소프트 레이블 보기")
    shot(page, tmp_path, "studio-text-ko")
    page.click("#lang-switch")
    expect(page.locator("h1")).to_have_text("5. Text classifier")


def _nsmc_rows(folder: Path, per_label: int = 8) -> Path:
    import polars as pl

    from byod.labels.datasets import nsmc

    train = nsmc(SHARED).train
    rows = pl.concat(
        [
            train.filter(pl.col("label") == y).sample(per_label, seed=0)
            for y in ("positive", "negative")
        ]
    ).with_columns(label=pl.col("label").replace({"positive": "긍정", "negative": "부정"}))
    path = folder / "nsmc-16.csv"
    rows.select("text", "label").write_csv(path)
    return path


def _home_with_cached_models(home: Path) -> Path:
    """A fresh BYOD_HOME whose llm/ and models/ entries link to the user's cache when present
    (joining and converting Qwen takes minutes; linked files are only read)."""
    real = Path(os.environ.get("BYOD_HOME") or Path.home() / ".cache" / "byod")
    for sub in ("llm", "models"):
        (home / sub).mkdir(parents=True, exist_ok=True)
        if (real / sub).is_dir():
            for entry in (real / sub).iterdir():
                (home / sub / entry.name).symlink_to(entry)
    return home


@pytest.mark.slow
def test_korean_classifier_from_16_nsmc_reviews(browser, tiny_st_folder, tmp_path) -> None:
    if not (SHARED / "nsmc" / "reviews.parquet").is_file():
        pytest.skip(f"{SHARED / 'nsmc'} is absent (the shared data folder; see its README)")
    examples = _nsmc_rows(tmp_path)
    log, _ = write_tiny_log(tmp_path)
    home = _home_with_cached_models(tmp_path / "home")
    proc, base = start_studio(tmp_path / "work", tiny_st_folder, home)
    context = browser.new_context(viewport={"width": 1280, "height": 900}, base_url=base)
    page = context.new_page()
    page.set_default_timeout(240_000)
    try:
        map_data(page, log)
        build_users(page, tiny_st_folder)  # a deployment serves a user table too
        page.goto("/text")
        page.set_input_files("#text-file", str(examples))
        page.click("#text-upload-form button[type=submit]")
        expect(page.locator("#loaded")).to_contain_text("16")
        expect(page.locator("textarea.examples")).to_have_count(2)
        assert len(page.locator("#ex-0").input_value().splitlines()) == 8
        _try(page, "배우들 연기가 정말 훌륭하고 감동적인 영화", "qwen2.5-0.5b")
        shot(page, tmp_path, "studio-nsmc-try")
        _train_and_deploy(page, "e5-small", tmp_path, "nsmc")
        held = json.loads(next((tmp_path / "work" / "jobs").glob("*/out/heldout.json")).read_text())
        assert len(held["held_out"]) == 4  # 2 of 8 per label
    finally:
        context.close()
        stop(proc)
