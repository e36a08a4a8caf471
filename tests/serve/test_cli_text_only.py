"""`byod deploy --text` with no user table: a text classifier deployed alone from the CLI,
served, and asked over HTTP; the half-given user options are one-line errors."""

from __future__ import annotations

import json

import numpy as np
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from byod.cli.main import app
from byod.encoders.backbone import open_backbone
from byod.serve import ServeSettings, create_app

POS = ["action action 1", "action item 2", "action 3 item", "item action 4"]
NEG = ["drama drama 5", "drama item 6", "drama 7 item", "item drama 8"]


def _classifier(folder, st_folder):  # noqa: ANN001, ANN202
    from byod.textlab.model import save_classifier
    from byod.textlab.prompts import load_task
    from byod.textlab.semisup import HyperMatchHead, SSLConfig

    backbone = open_backbone(str(st_folder))
    texts, y = POS + NEG, np.array(["fresh"] * 4 + ["rotten"] * 4)
    head = HyperMatchHead(SSLConfig(steps=60, hidden=8), seed=0).fit(backbone.encode(texts), y)
    task = load_task("rotten-tomatoes", labels=["fresh", "rotten"])
    return save_classifier(head, folder, backbone=str(st_folder), task=task)


def test_a_text_classifier_is_deployed_and_served_alone(
    tmp_path, tiny_st_folder, monkeypatch
) -> None:
    monkeypatch.setenv("BYOD_HOME", str(tmp_path / "home"))
    folder = _classifier(tmp_path / "reviews", tiny_st_folder)
    out = tmp_path / "deploy"
    r = CliRunner().invoke(app, ["deploy", "--text", f"reviews={folder}", "--out", str(out)])
    assert r.exit_code == 0, r.output
    said = " ".join(r.output.split())  # rich wraps the line at the terminal width
    assert "no user table (text classifiers only)" in said and "reviews (text)" in said
    manifest = json.loads((out / "deployment.json").read_text())
    assert manifest["table"] is None and manifest["encoder"] is None
    with TestClient(create_app(ServeSettings(deployment=out))) as client:
        reply = client.post("/v1/text/reviews/classify", json={"texts": [POS[0], NEG[0]]})
        assert reply.status_code == 200, reply.text
        results = reply.json()["results"]
        assert [set(r["probabilities"]) for r in results] == [{"fresh", "rotten"}] * 2
        assert results[0]["probabilities"]["fresh"] > results[1]["probabilities"]["fresh"]
        assert client.get("/v1/users/u1/embedding").status_code == 404


def test_user_options_go_together_and_something_must_be_deployed(tmp_path) -> None:
    runner = CliRunner()
    r = runner.invoke(app, ["deploy", "--model", str(tmp_path), "--out", str(tmp_path / "d")])
    assert r.exit_code == 2 and "--model and --features go together" in r.output
    r = runner.invoke(app, ["deploy", "--out", str(tmp_path / "d")])
    assert r.exit_code == 2 and "nothing to deploy" in r.output
    assert "Traceback" not in r.output and not (tmp_path / "d").exists()
