"""Small pieces of the studio without a browser: words, the curve, the CLI's refusals."""

from __future__ import annotations

import pytest
from typer.testing import CliRunner

from byod.cli.main import app
from byod.studio.i18n import LANGS, STRINGS, t
from byod.studio.mapping import source_from_form
from byod.studio.routers.jobs import curve_points


def test_every_string_has_english_and_korean() -> None:
    missing = [k for k, v in STRINGS.items() if set(v) != set(LANGS) or not all(v.values())]
    assert missing == []
    assert t("ko", "nav.deploy") == "4. 배포" and t("xx", "nav.deploy") == "4. Deploy"


def test_curve_points_scale_into_the_box() -> None:
    pts = curve_points(
        [{"train_loss": 3.0}, {"train_loss": 1.0}, {"train_loss": 2.0}], "train_loss"
    )
    xy = [tuple(map(float, p.split(","))) for p in pts.split()]
    assert (
        xy[0] == (8.0, 8.0) and xy[1] == (160.0, 112.0) and xy[2] == (312.0, 60.0) and len(xy) == 3
    )
    assert curve_points([{"val_loss": float("nan")}], "val_loss") == ""


def test_form_to_source_entry() -> None:
    src = source_from_form(
        {
            "path": "/x/a.csv",
            "user_column": "u",
            "time_column": "t",
            "text": "{title}",
            "time_format": "ordinal",
            "timezone": "Asia/Seoul",
        }
    )
    assert src == {
        "path": "/x/a.csv",
        "user_column": "u",
        "time_column": "t",
        "text": "{title}",
        "time_format": "ordinal",
        "service": "a",
    }
    from byod.errors import ConfigError

    with pytest.raises(ConfigError, match="user"):
        source_from_form({"path": "/x/a.csv", "time_column": "t", "text": "{title}"})


def test_studio_refuses_another_interface(tmp_path) -> None:
    r = CliRunner().invoke(app, ["studio", "--work", str(tmp_path), "--host", "0.0.0.0"])
    assert r.exit_code == 2 and "refusing to serve the studio on 0.0.0.0" in r.output


def test_posts_need_the_studio_page_and_a_loopback_host(tmp_path) -> None:
    from fastapi.testclient import TestClient

    from byod.studio import StudioSettings, create_studio_app

    client = TestClient(
        create_studio_app(StudioSettings(work_dir=tmp_path)), base_url="http://127.0.0.1"
    )
    form = {"name": "x", "scope": "admin"}
    assert client.post("/keys", data=form).status_code == 403  # a cross-site form post
    assert client.post("/keys", data=form, headers={"HX-Request": "true"}).status_code == 200
    assert client.get("/data", headers={"Host": "evil.example"}).status_code == 400
