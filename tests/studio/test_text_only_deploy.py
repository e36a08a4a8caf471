"""Flow 5's deploy without any user table: a Korean text classifier (a tiny BERT whose
vocabulary holds the test words) trained on a fresh studio that never built users, deployed
alone, promoted (the service starts with it), asked over HTTP about a Korean sentence, then
hot-swapped to a second text-only deployment. The user endpoints say there is no user table."""

from __future__ import annotations

import httpx
import pytest
from playwright.sync_api import expect

from byod.errors import ByodError
from byod.serve.build import DeploySpec, build_deployment

from .conftest import KO_NEG, KO_POS, start_studio, stop
from .flows import shot, wait_job

POS = ["재미 최고 영화", "감동 명작 영화", "최고 추천 연기", "정말 재미 감동", "명작 배우 추천"]
NEG = ["지루 최악 영화", "실망 졸작 영화", "최악 후회 연기", "정말 지루 실망", "졸작 배우 후회"]


def _deploy_alone(page, card) -> str:  # noqa: ANN001
    """Build a text-only deployment from the classifier's card, promote it; its job id."""
    cards = page.locator("#text-deploys article.job[data-kind=deploy]")
    before = cards.count()
    card.locator("select[name=build]").select_option(value="")
    card.locator("button.deploy-text").click()
    expect(cards).to_have_count(before + 1)
    deploy = page.locator(f"#{cards.first.get_attribute('id')}")
    expect(deploy).to_have_attribute("data-status", "done", timeout=240_000)
    job = deploy.get_attribute("id").removeprefix("job-")
    deploy.locator("button.promote").click()
    return job


def test_a_korean_text_classifier_served_without_users(
    browser, tiny_ko_st_folder, tmp_path
) -> None:
    proc, base = start_studio(tmp_path / "work", tiny_ko_st_folder, tmp_path / "home")
    context = browser.new_context(viewport={"width": 1280, "height": 900}, base_url=base)
    page = context.new_page()
    page.set_default_timeout(60_000)
    try:
        page.goto("/text")
        expect(page.locator("#text-jobs")).to_be_empty()
        page.fill("#labels", "긍정, 부정")
        page.locator("#labels").dispatch_event("change")
        page.fill("#ex-0", "\n".join(POS))
        page.fill("#ex-1", "\n".join(NEG))
        page.fill("#text-name", "nsmc")
        page.fill("#text-backbone", str(tiny_ko_st_folder))
        page.select_option("#teacher", "none")
        card = page.locator(f"#job-{wait_job(page, 'text', '#train-text', 240_000)}")
        first = _deploy_alone(page, card)
        expect(page.locator("#served .heads")).to_contain_text("nsmc", timeout=120_000)
        expect(page.locator("#served .version")).to_have_text("none")  # no table version
        curl = page.locator("#curl").inner_text()
        assert "/v1/text/nsmc/classify" in curl and "/v1/users/" not in curl

        # A real HTTP request to the running service classifies a Korean sentence.
        url = f"{base}/serve/v1/text/nsmc/classify"
        texts = [f"{KO_POS[0]} {KO_POS[1]} {KO_POS[2]}", f"{KO_NEG[0]} {KO_NEG[1]} {KO_NEG[2]}"]
        reply = httpx.post(url, json={"texts": texts}, timeout=60)
        assert reply.status_code == 200, reply.text
        results = reply.json()["results"]
        # A random-weight tiny BERT and 8 examples: the argmax may flip between runs, the order
        # of the two sentences' positive probability should not.
        assert {r["label"] for r in results} <= {"긍정", "부정"}
        assert all(abs(sum(r["probabilities"].values()) - 1) < 1e-5 for r in results)
        assert results[0]["probabilities"]["긍정"] > results[1]["probabilities"]["긍정"]
        ready = httpx.get(f"{base}/serve/readyz", timeout=30).json()
        assert ready["status"] == "ready" and ready["table_version"] == "none"
        assert ready["encoder_hash"] is None and ready["heads"] == ["nsmc"]
        user = httpx.get(f"{base}/serve/v1/users/u1/embedding", timeout=30)
        assert user.status_code == 404 and "text classifiers only" in user.text
        shot(page, tmp_path, "studio-text-only")

        # A second text-only deployment is promoted by hot swap; the service keeps answering.
        second = _deploy_alone(page, card)
        assert second != first
        expect(page.locator("#served .path")).to_contain_text(second)
        expect(page.locator("#served")).to_contain_text("swaps 2")  # the first load counts one
        again = httpx.post(url, json={"texts": texts[:1]}, timeout=60)
        assert again.status_code == 200  # the same classifier behind both: the same answer
        (answer,) = again.json()["results"]
        assert answer["label"] == results[0]["label"]
        assert answer["probabilities"] == pytest.approx(results[0]["probabilities"])
    finally:
        context.close()
        stop(proc)


def test_a_deployment_needs_users_or_a_text_classifier(tmp_path) -> None:
    with pytest.raises(ByodError, match="or a text classifier"):
        build_deployment(DeploySpec(), tmp_path / "empty")
    with pytest.raises(ByodError, match="need the user encoder and table"):
        build_deployment(
            DeploySpec(text_classifiers={"x": tmp_path}, tasks=("likes",)), tmp_path / "heads"
        )
    assert not (tmp_path / "empty").exists() and not (tmp_path / "heads").exists()
