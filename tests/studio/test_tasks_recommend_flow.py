"""The tasks page's map and next-item recommendation in the browser.

The embedding map's points show a user's recent events on hover; next-item ranking against the
baselines on the tiny build's users; deployed (item index + head), its curl line answered.
"""

from __future__ import annotations

import json

from playwright.sync_api import expect

from .flows import DONE, build_users, map_data, shot, wait_job
from .test_tasks_deploy_flow import _curl


def test_next_item_ranking_and_deploy(page, studio, tiny_files, tmp_path) -> None:
    if "data" not in DONE:
        map_data(page, tiny_files[0])
    if "build" not in DONE:
        build_users(page, studio[2])
    page.goto("/tasks")
    dots = page.locator("#map-svg circle[data-user]")
    expect(dots).to_have_count(40, timeout=120_000)  # every user of the tiny log
    dots.first.focus()  # the keyboard way: tab to a point
    expect(page.locator("#map-hover strong")).to_contain_text(dots.first.get_attribute("data-user"))
    dot = dots.last  # drawn last, so on top of any point it overlaps
    dot.hover()
    expect(page.locator("#map-hover strong")).to_contain_text(dot.get_attribute("data-user"))
    expect(page.locator("#map-hover li")).to_have_count(3)  # the user's last three events
    assert " | " in page.locator("#map-hover li").first.inner_text()  # "{title} | {category}"
    job = wait_job(page, "recommend", "#recommend", timeout_ms=240_000)
    rows = page.locator(f"#job-{job} table.ranking tbody tr")
    sources = set(rows.evaluate_all("rs => rs.map(r => r.dataset.source)"))
    assert {"byod vectors", "popularity", "item-knn", "cooccurrence"} <= sources
    shot(page, tmp_path, "studio-recommend")
    page.goto("/deploy")
    page.check("#next-item")
    for box in page.locator("#deploy-form input[name=head], #deploy-form input[name=text]").all():
        box.uncheck()  # the items alone: quicker
    deploy = wait_job(page, "deploy", "#build-deployment", timeout_ms=240_000)
    page.locator(f"#job-{deploy} button.promote").click()
    expect(page.locator("#served .heads")).to_contain_text("next-item", timeout=120_000)
    line = next(ln for ln in page.locator("#curl").inner_text().splitlines() if "/recommend" in ln)
    keyed = "X-API-Key" in line
    assert not keyed, "the earlier flows revoke their keys"
    reply = _curl(line, None)
    assert reply.status_code == 200, (line, reply.text)
    assert len(json.loads(reply.text)["items"]) == 5
