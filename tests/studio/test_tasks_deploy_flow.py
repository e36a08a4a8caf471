"""Flows 3 and 4 in the browser: labels → a head with metrics vs baselines; a deployment built,
promoted (then hot-swapped), its curl line answered; API keys made and revoked here."""

from __future__ import annotations

import os
import re
import shlex
import shutil
from pathlib import Path

import httpx
from playwright.sync_api import expect

from .flows import DONE, build_users, map_data, shot, train_head, wait_job


def _ensure_build(page, studio, tiny_files) -> str:
    if "data" not in DONE:
        map_data(page, tiny_files[0])
    return DONE.get("build") or build_users(page, studio[2])


def test_train_a_head_against_the_baselines(page, studio, tiny_files, tmp_path) -> None:
    _ensure_build(page, studio, tiny_files)
    job = train_head(page, tiny_files[1])
    rows = page.locator(f"#job-{job} table.metrics tbody tr")
    sources = set(rows.evaluate_all("rs => rs.map(r => r.dataset.source)"))
    assert sources == {"byod vectors", "majority class", "TF-IDF bag of items"}
    ours = page.locator(f"#job-{job} tr[data-source='byod vectors'][data-metric=accuracy] td").nth(
        3
    )
    assert re.fullmatch(r"\d\.\d{3} ± \d\.\d{3}", ours.inner_text())
    shot(page, tmp_path, "studio-tasks")


def _curl(line: str, key: str | None) -> httpx.Response:
    """Run a curl line from the page with httpx (the same method, headers, body and URL)."""
    args = shlex.split(line.replace("$BYOD_API_KEY", key or ""))
    headers = (
        dict(a.split(": ", 1) for a in args[args.index("-H") + 1 :: 99]) if "-H" in args else {}
    )
    body = args[args.index("--json") + 1] if "--json" in args else None
    url = args[-1]
    if body is None:
        return httpx.get(url, headers=headers, timeout=30)
    return httpx.post(
        url, content=body, headers={**headers, "Content-Type": "application/json"}, timeout=30
    )


def _deploy(page) -> str:
    page.goto("/deploy")
    job = wait_job(page, "deploy", "#build-deployment")
    page.locator(f"#job-{job} button.promote").click()
    return job


def test_deploy_promote_hot_swap_and_keys(page, studio, tiny_files, tmp_path) -> None:
    base = studio[0]
    _ensure_build(page, studio, tiny_files)
    if "tasks" not in DONE:
        train_head(page, tiny_files[1])
    assert httpx.get(f"{base}/serve/readyz").status_code == 503  # nothing promoted yet
    _deploy(page)
    expect(page.locator("#served .heads")).to_contain_text("likes")
    first_version = page.locator("#served .version").inner_text()
    first_path = page.locator("#served .path").inner_text()
    lines = page.locator("#curl").inner_text().strip().splitlines()
    assert any("/v1/heads/likes/predict" in ln for ln in lines)
    for line in lines:  # no key yet: reads are open on loopback
        reply = _curl(line, None)
        assert reply.status_code == 200, (line, reply.text)
    predict = next(ln for ln in lines if "predict" in ln)
    assert _curl(predict, None).json()["label"] in {"action", "drama"}
    if shutil.which("curl"):  # the line itself, as a person would paste it
        assert os.system(predict + " > /dev/null") == 0
    # Keys: a read key closes the open reads; revoking it reopens them.
    page.fill("#key-name", "app")
    page.select_option("#key-scope", "read")
    page.click("#create-key")
    key = page.locator("#new-key[data-scope=read]").inner_text()
    predict = next(ln for ln in page.locator("#curl").inner_text().splitlines() if "predict" in ln)
    assert "X-API-Key" in predict
    assert _curl(predict, key).status_code == 200
    assert _curl(predict, "wrong").status_code == 401
    page.fill("#key-name", "ops")
    page.select_option("#key-scope", "admin")
    page.click("#create-key")
    admin = page.locator("#new-key[data-scope=admin]").inner_text()
    reply = httpx.post(f"{base}/serve/v1/admin/reload", headers={"X-API-Key": admin}, timeout=60)
    assert reply.status_code == 200 and reply.json()["version"] == first_version
    shot(page, tmp_path, "studio-deploy")
    if os.environ.get("BYOD_WRITE_DOCS_IMG"):  # the README's screenshot
        target = Path(__file__).resolve().parents[2] / "docs" / "img" / "studio.png"
        target.parent.mkdir(parents=True, exist_ok=True)
        page.set_viewport_size({"width": 1100, "height": 800})
        page.screenshot(path=str(target))
    # A second deployment (a new build) is promoted by hot swap: a new table version.
    page.goto("/build")
    build_users(page, studio[2], epochs=1)
    _deploy(page)
    expect(page.locator("#served .path")).not_to_have_text(first_path)
    swapped = httpx.get(f"{base}/serve/v1/deployment", headers={"X-API-Key": key}, timeout=30)
    assert swapped.status_code == 200 and swapped.json()["path"] != first_path
    rows = page.locator("#keys tbody tr")
    for left in (1, 0):  # revoke both keys: reads are open again
        rows.first.locator("button").click()
        expect(rows).to_have_count(left)
    assert _curl(predict, None).status_code == 200
    assert httpx.get(f"{base}/serve/readyz", timeout=30).status_code == 200
