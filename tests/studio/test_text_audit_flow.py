"""Flow 5, the label audit in the browser: examples with planted label errors → an audit job
(``byod labels audit``'s call, the tiny BERT as the checkers' encoder) → the suggested
corrections, accepted and rejected one by one with the keyboard → the labels file rewritten,
the example moved to its new label's box, the counts adding up, all kept over a reload."""

from __future__ import annotations

import httpx
import polars as pl
from playwright.sync_api import Page, expect

from .flows import shot, wait_job

# Words the tiny BERT knows; 8 per label, and three examples under the wrong label.
GOOD = [f"action comedy {i}" for i in range(8)] + ["drama horror 20", "horror drama 21"]
BAD = [f"drama horror {i}" for i in range(10, 18)] + ["comedy action 22"]
PLANTED = {"drama horror 20": "긍정", "horror drama 21": "긍정", "comedy action 22": "부정"}


def _counts(page: Page) -> dict[str, int]:
    box = page.locator(".audit-counts").first
    counts = {k: int(box.get_attribute(f"data-{k}")) for k in
              ("suggested", "accepted", "rejected", "pending")}  # fmt: skip
    assert counts["suggested"] == counts["accepted"] + counts["rejected"] + counts["pending"]
    return counts


def _fill(page: Page) -> None:
    page.goto("/text")
    page.fill("#labels", "긍정, 부정")
    page.locator("#labels").dispatch_event("change")
    expect(page.locator("textarea.examples")).to_have_count(2)
    page.fill("#ex-0", "\n".join(GOOD))
    page.fill("#ex-1", "\n".join(BAD))


def test_audit_suggestions_accepted_and_rejected_one_by_one(page, studio, tmp_path) -> None:
    base, work, backbone = studio
    _fill(page)
    page.fill("#audit-backbone", str(backbone))
    job = wait_job(page, "audit", "#audit")
    card = page.locator(f"#job-{job}")
    counts = _counts(page)
    rows = card.locator("table.suggestions tbody tr")
    expect(rows).to_have_count(counts["suggested"])
    assert counts["suggested"] >= 2 and counts["pending"] == counts["suggested"]
    suggested = {r.locator(".text").inner_text(): r.locator(".suggested").inner_text()
                 for r in rows.all()}  # fmt: skip
    found = set(suggested) & set(PLANTED)
    assert len(found) >= 2, suggested  # the checkers find the planted errors...
    assert all(suggested[t] != PLANTED[t] for t in found)  # ...and suggest the other label
    for r in rows.all():
        assert 0.5 <= float(r.locator(".confidence").inner_text()) <= 1.0
    labels_file = work / "text" / "labels.csv"
    assert pl.read_csv(labels_file).height == len(GOOD) + len(BAD)

    # Accept the first suggestion with the keyboard.
    first = rows.first
    text, given, new = (first.locator(c).inner_text() for c in (".text", ".given", ".suggested"))
    first.locator("button.accept-fix").focus()
    page.keyboard.press("Enter")
    expect(card.locator(".audit-counts")).to_have_attribute("data-accepted", "1")
    expect(card.locator(f"tr[data-row='{first.get_attribute('data-row')}']")).to_have_attribute(
        "data-decision", "accepted"
    )
    fixed = pl.read_csv(labels_file)
    assert fixed.filter(pl.col("text") == text)["label"].to_list() == [new]
    assert fixed.height == len(GOOD) + len(BAD)
    boxes = {page.locator(f"#ex-{i}").get_attribute("data-label"): page.locator(f"#ex-{i}")
             for i in (0, 1)}  # fmt: skip
    assert text in boxes[new].input_value().splitlines()  # moved to its new label's box
    assert text not in boxes[given].input_value().splitlines()

    # The next pending suggestion has the focus: Tab to its reject button, Enter.
    expect(card.locator("button.accept-fix").first).to_be_focused()
    page.keyboard.press("Tab")
    expect(card.locator("button.reject-fix").first).to_be_focused()
    pending = card.locator("tr[data-decision=pending]").first
    rejected_text, kept_label = (
        pending.locator(".text").inner_text(),
        pending.locator(".given").inner_text(),
    )
    page.keyboard.press("Enter")
    expect(card.locator(".audit-counts")).to_have_attribute("data-rejected", "1")
    after = _counts(page)
    assert after == {**counts, "accepted": 1, "rejected": 1, "pending": counts["suggested"] - 2}
    unchanged = pl.read_csv(labels_file).filter(pl.col("text") == rejected_text)["label"]
    assert unchanged.to_list() == [kept_label]  # a rejected suggestion changes nothing
    shot(page, tmp_path, "studio-text-audit")

    # A reload keeps the decisions (and the moved example); a second decision is refused.
    page.reload()
    card = page.locator(f"#job-{job}")
    expect(card.locator(".audit-counts")).to_have_attribute("data-accepted", "1")
    assert _counts(page) == after
    assert card.locator("tr[data-decision=accepted] .text").inner_text() == text
    expect(card.locator("tr[data-decision=rejected]")).to_have_count(1)
    box = page.locator(f"textarea.examples[data-label='{new}']")
    assert text in box.input_value().splitlines()
    row = card.locator("tr[data-decision=accepted]").get_attribute("data-row")
    again = httpx.post(f"{base}/text/audit/{job}/decide", headers={"HX-Request": "true"},
                       data={"row": row, "decision": "reject"})  # fmt: skip
    assert "already accepted" in again.text
    download = httpx.get(f"{base}/text/labels.csv")
    assert download.status_code == 200 and text in download.text
    report = httpx.get(f"{base}/text/audit/{job}/report")
    assert report.status_code == 200 and "Label audit of labels.csv" in report.text

    page.click("#lang-switch")
    expect(page.locator(f"#job-{job} .audit-counts")).to_contain_text("채택")
    expect(page.locator("#audit")).to_have_text("레이블 검수 (작업)")
    page.click("#lang-switch")


def test_audit_refuses_a_label_with_one_example(page, studio) -> None:
    page.goto("/text")
    page.fill("#labels", "긍정, 부정")
    page.locator("#labels").dispatch_event("change")
    page.fill("#ex-0", "action item 1\naction item 2")
    page.fill("#ex-1", "drama item 3")
    page.click("#audit")
    expect(page.locator("#text-jobs .error-line")).to_contain_text("at least 2 per label")
