"""Render the HTML report in headless Chromium: every figure decodes and the page is not blank."""

import re
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

CHROMIUM_FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--hide-scrollbars",
    "--virtual-time-budget=5000",
]


def _chromium() -> str:
    path = shutil.which("chromium") or (
        "/usr/bin/chromium" if Path("/usr/bin/chromium").exists() else None
    )
    if path is None:
        pytest.fail(
            "headless Chromium is needed to render the HTML report but `chromium` is not on PATH; "
            "install it with `apt-get install -y chromium` (`make install` does this)",
            pytrace=False,
        )
    return path


def _run(args: list[str], user_data_dir: Path) -> subprocess.CompletedProcess:
    cmd = [_chromium(), *CHROMIUM_FLAGS, f"--user-data-dir={user_data_dir}", *args]
    result = subprocess.run(cmd, capture_output=True, text=True, timeout=120, check=False)
    assert result.returncode == 0, f"chromium failed ({result.returncode}): {result.stderr[-2000:]}"
    return result


@pytest.mark.slow
def test_chromium_renders_every_figure(built_report, tmp_path) -> None:
    url = built_report.html.resolve().as_uri()
    dom = _run(["--dump-dom", url], tmp_path / "profile-dom").stdout
    body = re.search(r"<body([^>]*)>", dom)
    assert body, f"no <body> in the rendered DOM: {dom[:500]!r}"
    expected = re.search(r'data-figures-expected="(\d+)"', body.group(1))
    loaded = re.search(r'data-figures-loaded="(\d+)"', body.group(1))
    assert loaded, f"the page's script did not run; body attributes: {body.group(1)!r}"
    assert int(expected.group(1)) == len(built_report.figures) == 2
    assert int(loaded.group(1)) == 2, "an <img> did not decode in the browser"

    shot = tmp_path / "page.png"
    _run([f"--screenshot={shot}", "--window-size=1280,2400", url], tmp_path / "profile-shot")
    pixels = np.asarray(Image.open(shot).convert("L"), dtype=np.float32)
    assert pixels.shape == (2400, 1280)
    assert pixels.std() > 10, "the screenshot is blank"
    assert (pixels < 128).mean() > 0.01, "the screenshot has almost no dark (text or plot) pixels"
