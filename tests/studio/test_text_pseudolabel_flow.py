"""Flow 5, the playground's data tools in the browser, with a tiny random Llama opened by path
(no real LLM): pseudo-label an uploaded file and pasted sentences as jobs (``byod text
pseudolabel``'s call), the kept / dropped counts at a confidence threshold adding up and
matching the downloads, kept over a reload; examples written from the label names alone
(``byod text generate``'s call), their counts adding up, the written ones accepted."""

from __future__ import annotations

import io
import json

import httpx
import polars as pl
from playwright.sync_api import Page, expect

from .conftest import KO_NEG, KO_POS
from .flows import shot, wait_job

SENTENCES = [
    "재미 최고 영화",
    "지루 최악 영화",
    "감동 명작 정말",
    "실망 졸작 너무",
    "추천 연기",
    "후회 배우",
]


def _task(page: Page, llm: str) -> None:
    page.goto("/text")
    page.fill("#labels", "긍정, 부정")
    page.locator("#labels").dispatch_event("change")
    expect(page.locator("textarea.examples")).to_have_count(2)
    page.fill("#ex-0", "\n".join(f"{a} {b} 영화" for a, b in zip(KO_POS, KO_POS[1:], strict=False)))
    page.fill("#ex-1", "\n".join(f"{a} {b} 영화" for a, b in zip(KO_NEG, KO_NEG[1:], strict=False)))
    page.fill("#llm", llm)


def _soft_counts(card) -> dict[str, float]:  # noqa: ANN001
    box = card.locator(".soft-counts")
    counts = {k: int(box.get_attribute(f"data-{k}")) for k in ("total", "kept", "dropped")}
    assert counts["total"] == counts["kept"] + counts["dropped"]
    return counts | {"threshold": float(box.get_attribute("data-threshold"))}


def _csv(base: str, job: str, which: str) -> pl.DataFrame:
    reply = httpx.get(f"{base}/text/pseudolabel/{job}/{which}.csv", timeout=30)
    assert reply.status_code == 200 and reply.headers["content-type"].startswith("text/csv")
    assert f"soft-labels-{job}-{which}.csv" in reply.headers["content-disposition"]
    return pl.read_csv(io.BytesIO(reply.content))


def test_pseudolabel_a_file_and_pasted_sentences(page, studio, tiny_llm_folder, tmp_path) -> None:
    base = studio[0]
    _task(page, str(tiny_llm_folder))
    upload = tmp_path / "unlabelled.csv"
    pl.DataFrame({"id": range(len(SENTENCES)), "text": SENTENCES}).write_csv(upload)
    page.set_input_files("#pl-file", str(upload))
    page.fill("#pl-threshold", "0.5")
    job = wait_job(page, "pseudolabel", "#pseudolabel", timeout_ms=240_000)
    card = page.locator(f"#job-{job}")
    counts = _soft_counts(card)
    # Two labels: the likelier one has p >= 0.5, so every row is kept at 0.5.
    assert counts == {"total": 6, "kept": 6, "dropped": 0, "threshold": 0.5}
    every = _csv(base, job, "all")
    assert every["text"].to_list() == SENTENCES
    assert set(every["label"]) <= {"긍정", "부정"}
    probs = every.select("prob_긍정", "prob_부정").sum_horizontal()
    assert ((probs - 1).abs() < 1e-6).all()

    # A threshold between the confidences splits them; the counts match the downloads.
    middle = float(every["confidence"].sort()[2])
    card.locator("input[name=threshold]").fill(repr(middle))
    card.locator("button.apply-threshold").click()
    expect(card.locator(".soft-counts")).to_have_attribute("data-threshold", repr(middle))
    counts = _soft_counts(card)
    assert counts["kept"] == every.filter(pl.col("confidence") >= middle).height
    assert counts["dropped"] == every.filter(pl.col("confidence") < middle).height
    kept = _csv(base, job, "kept")
    assert kept.height == counts["kept"] and (kept["confidence"] >= middle).all()
    expect(card.locator("table.soft-rows tr.dropped")).to_have_count(counts["dropped"])
    shot(page, tmp_path, "studio-text-pseudolabel")
    page.reload()  # the job and its threshold survive a reload
    card = page.locator(f"#job-{job}")
    expect(card.locator(".soft-counts")).to_have_attribute("data-threshold", repr(middle))
    assert _soft_counts(card) == counts

    # Pasted sentences (no file) in a second job.
    _task(page, str(tiny_llm_folder))
    page.fill("#pl-texts", "\n".join(SENTENCES[:3]) + "\n\n")
    second = page.locator(f"#job-{wait_job(page, 'pseudolabel', '#pseudolabel', 240_000)}")
    assert _soft_counts(second)["total"] == 3
    page.fill("#pl-texts", "")
    page.click("#pseudolabel")
    expect(page.locator("#text-jobs .error-line").first).to_contain_text("paste sentences")


def test_generate_from_the_label_names(
    page, studio, tiny_llm_folder, tiny_ko_st_folder, tmp_path
) -> None:
    _task(page, str(tiny_llm_folder))
    page.fill("#text-backbone", str(tiny_ko_st_folder))  # near duplicates, as the CLI removes
    page.fill("#gen-per-label", "2")
    job = wait_job(page, "generate", "#generate-zero", timeout_ms=240_000)
    card = page.locator(f"#job-{job}")
    counts = card.locator(".gen-counts")
    requested, kept, written = (
        int(counts.get_attribute(f"data-{k}")) for k in ("requested", "kept", "written")
    )
    assert requested == 4 and 0 <= written <= kept <= requested  # 2 per label x 2 labels
    assert card.locator("table.generated tbody tr").count() == written
    summary = json.loads((studio[1] / "jobs" / job / "out" / "generated.json").read_text())
    g = summary["summary"]
    assert g["requested"] == g["kept"] + sum(g["dropped"].values())  # the counts add up
    assert g["written"] == g["kept"] - sum(g["duplicates_removed"].values())
    if written:
        before = sum(len(page.locator(f"#ex-{i}").input_value().splitlines()) for i in (0, 1))
        card.locator("button.accept").click()
        expect(page.locator("#added")).to_contain_text(f"/ {written}")
        after = sum(len(page.locator(f"#ex-{i}").input_value().splitlines()) for i in (0, 1))
        assert before < after <= before + written
    shot(page, tmp_path, "studio-text-generate")
