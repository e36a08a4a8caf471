import os
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest
from typer.testing import CliRunner

from byod.cli.main import app

from .conftest import free_port

BYOD = Path(sys.executable).with_name("byod")


def test_api_key_prints_once_and_stores_only_the_hash(tmp_path) -> None:
    from byod.serve.security import KeyRing

    out, header = tmp_path / "keys.txt", tmp_path / "admin.header"
    r = CliRunner().invoke(app, ["api-key", "--scope", "admin", "--out", str(out),
                                 "--header-file", str(header)])  # fmt: skip
    assert r.exit_code == 0, r.output
    key = r.output.strip()
    assert key not in out.read_text()
    assert KeyRing.from_settings("", out).scope_of(key) == "admin"
    assert header.read_text() == f"X-API-Key: {key}\n"
    assert (header.stat().st_mode & 0o777) == 0o600
    bad = CliRunner().invoke(app, ["api-key", "--scope", "root", "--out", str(out)])
    assert bad.exit_code == 2 and "--scope must be one of" in bad.output


def test_deploy_and_serve_errors_are_one_line_exit_2(tmp_path, tiny_deployment) -> None:
    runner = CliRunner()
    r = runner.invoke(app, ["serve", str(tmp_path)])
    assert r.exit_code == 2 and "not a deployment" in r.output
    r = runner.invoke(app, ["serve", str(tiny_deployment), "--host", "0.0.0.0"])
    assert r.exit_code == 2 and "refusing to serve on 0.0.0.0 without API keys" in r.output
    r = runner.invoke(app, ["deploy", "--model", str(tmp_path), "--features", str(tmp_path),
                            "--out", str(tmp_path / "d")])  # fmt: skip
    assert r.exit_code == 2 and "not a byod model folder" in r.output
    assert "Traceback" not in r.output


def test_build_refuses_to_overwrite_and_checks_the_table(tmp_path, tiny_deployment) -> None:
    from byod.errors import ByodError
    from byod.serve.build import DeploySpec, build_deployment

    with pytest.raises(ByodError, match="never changed in place"):
        build_deployment(DeploySpec(None, tmp_path, None), tiny_deployment)


def test_a_real_uvicorn_on_loopback(tiny_deployment, tmp_path) -> None:
    """`python -m uvicorn --factory` on the tiny deployment (hashing backbone by a tiny shim)."""
    port = free_port()
    shim = tmp_path / "tiny_app.py"
    shim.write_text(
        "from byod.encoders.hashing import HashingBackbone\n"
        "from byod.serve import ServeSettings, create_app\n"
        "from byod.serve.app import default_loader\n"
        "def make():\n"
        "    s = ServeSettings()\n"
        "    return create_app(s, loader=default_loader(s, lambda n: HashingBackbone(dim=32)))\n"
    )
    env = {**os.environ, "BYOD_SERVE_DEPLOYMENT": str(tiny_deployment),
           "PYTHONPATH": os.pathsep.join([str(tmp_path), os.environ.get("PYTHONPATH", "")])}  # fmt: skip
    proc = subprocess.Popen(
        [sys.executable, "-m", "uvicorn", "tiny_app:make", "--factory", "--host", "127.0.0.1",
         "--port", str(port), "--log-level", "warning"],
        env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
    )  # fmt: skip
    try:
        base = f"http://127.0.0.1:{port}"
        for _ in range(600):
            try:
                if httpx.get(f"{base}/readyz", timeout=1).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            if proc.poll() is not None:
                pytest.fail(proc.stdout.read().decode())
            time.sleep(0.1)
        else:
            pytest.fail("uvicorn did not get ready in 60 s")
        r = httpx.post(f"{base}/v1/recommend", json={"user_id": "u2", "k": 4}, timeout=10)
        assert r.status_code == 200 and len(r.json()["items"]) == 4
        assert r.headers["x-byod-table-version"] == "v0001"
        r = httpx.get(f"{base}/v1/users/u2/embedding", timeout=10)
        assert r.status_code == 200
    finally:
        proc.terminate()
        proc.wait(timeout=20)
