import shutil
import time

import numpy as np
import pytest
from fastapi.testclient import TestClient

from byod.errors import ByodError
from byod.serve.deployment import load_deployment

from .conftest import make_app


@pytest.fixture()
def client(tiny_deployment, tiny_backbone):
    with TestClient(make_app(tiny_deployment, tiny_backbone)) as c:
        yield c


@pytest.fixture()
def tampered(tiny_deployment, tmp_path):
    bad = tmp_path / "tampered"
    shutil.copytree(tiny_deployment, bad)
    vectors = np.load(bad / "table" / "vectors.npy")
    vectors[0, 0] += 1.0
    np.save(bad / "table" / "vectors.npy", vectors)
    return bad


def _admin_app(deployment, backbone):
    from byod.serve.security import hash_key

    return make_app(deployment, backbone, api_keys=f"admin:{hash_key('adm')}")


def test_failed_reload_keeps_the_old_version_serving(tiny_deployment, tiny_backbone, tampered):
    with TestClient(_admin_app(tiny_deployment, tiny_backbone)) as c:
        before = c.get("/v1/users/u1/embedding", headers={"X-API-Key": "adm"}).json()["vector"]
        r = c.post("/v1/admin/reload", json={"path": str(tampered)}, headers={"X-API-Key": "adm"})
        assert r.status_code == 409
        message = r.json()["error"]["message"]
        assert "vectors.npy: sha256 differs" in message and "still serving the old one" in message
        after = c.get("/v1/users/u1/embedding", headers={"X-API-Key": "adm"})
        assert after.status_code == 200 and after.json()["vector"] == before
        ready = c.get("/readyz").json()
        assert ready["deployment"] == str(tiny_deployment)
        assert "sha256 differs" in ready["last_reload_error"]


def test_reload_switches_to_a_new_version(tiny_deployment, second_deployment, tiny_backbone):
    with TestClient(_admin_app(tiny_deployment, tiny_backbone)) as c:
        old = c.get("/v1/users/u1/embedding", headers={"X-API-Key": "adm"}).json()["vector"]
        r = c.post(
            "/v1/admin/reload", json={"path": str(second_deployment)}, headers={"X-API-Key": "adm"}
        )
        assert r.status_code == 200, r.text
        assert r.json()["deployment"] == str(second_deployment)
        new = c.get("/v1/users/u1/embedding", headers={"X-API-Key": "adm"})
        assert new.status_code == 200 and new.json()["vector"] != old
        assert c.get("/readyz").json()["last_reload_error"] is None


def test_every_mismatch_is_a_clear_error(tiny_deployment, tiny_backbone, tmp_path) -> None:
    from byod.encoders.hashing import HashingBackbone

    with pytest.raises(ByodError, match="fingerprint hashing-16 .* built with hashing-32"):
        load_deployment(tiny_deployment, open_backbone=lambda n: HashingBackbone(dim=16))
    missing = tmp_path / "missing"
    shutil.copytree(tiny_deployment, missing)
    (missing / "heads" / "likes" / "head.safetensors").unlink()
    with pytest.raises(ByodError, match="listed in deployment.json but missing"):
        load_deployment(missing, open_backbone=lambda n: tiny_backbone)
    with pytest.raises(ByodError, match="not a deployment"):
        load_deployment(tmp_path, open_backbone=lambda n: tiny_backbone)


def test_requests_during_a_reload_all_succeed_on_one_version_or_the_other(
    tiny_deployment, second_deployment, tiny_backbone
) -> None:
    import threading

    headers = {"X-API-Key": "adm"}
    with TestClient(_admin_app(tiny_deployment, tiny_backbone)) as c:
        old = c.get("/readyz").json()["deployment_hash"]
        answers, stop = [], threading.Event()

        def load() -> None:
            while not stop.is_set():
                r = c.post("/v1/recommend", json={"user_id": "u1", "k": 3}, headers=headers)
                answers.append((r.status_code, r.headers["X-BYOD-Deployment"]))

        workers = [threading.Thread(target=load) for _ in range(3)]
        for w in workers:
            w.start()
        r = c.post("/v1/admin/reload", json={"path": str(second_deployment)}, headers=headers)
        new = r.json()["hash"]
        after = len(answers)
        deadline = time.monotonic() + 60
        while len(answers) < after + 6 and time.monotonic() < deadline:
            time.sleep(0.01)  # let some requests run after the switch too
        stop.set()
        for w in workers:
            w.join()
    assert r.status_code == 200 and old != new
    assert {status for status, _ in answers} == {200}
    assert {digest for _, digest in answers} <= {old, new}
    assert answers[-1][1] == new
