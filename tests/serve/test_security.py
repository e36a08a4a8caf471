import json

import pytest
from fastapi.testclient import TestClient

from byod.errors import ConfigError
from byod.serve.security import KeyRing, hash_key

from .conftest import ADMIN_KEY, READ_KEY, key_settings, make_app


@pytest.fixture(scope="module")
def client(tiny_deployment, tiny_backbone):
    app = make_app(tiny_deployment, tiny_backbone, max_body_bytes=4096, **key_settings())
    with TestClient(app) as c:
        yield c


def test_read_endpoints_need_a_valid_key(client) -> None:
    r = client.get("/v1/users/u1/embedding")
    assert r.status_code == 401 and "X-API-Key" in r.json()["error"]["message"]
    r = client.get("/v1/users/u1/embedding", headers={"X-API-Key": "wrong"})
    assert r.status_code == 401 and "not valid" in r.json()["error"]["message"]
    for key in (READ_KEY, ADMIN_KEY):
        assert client.get("/v1/users/u1/embedding", headers={"X-API-Key": key}).status_code == 200


def test_health_needs_no_key(client) -> None:
    assert client.get("/healthz").status_code == 200
    assert client.get("/readyz").status_code == 200


def test_reload_needs_the_admin_scope(client) -> None:
    assert client.post("/v1/admin/reload").status_code == 401
    r = client.post("/v1/admin/reload", headers={"X-API-Key": READ_KEY})
    assert r.status_code == 403 and "admin key" in r.json()["error"]["message"]
    r = client.post("/v1/admin/reload", headers={"X-API-Key": ADMIN_KEY})
    assert r.status_code == 200 and r.json()["status"] == "reloaded"


def test_body_over_the_limit_is_413_declared_or_streamed(client) -> None:
    big = {"user_ids": ["x" * 50] * 200}
    r = client.post("/v1/users/embeddings:batch", json=big, headers={"X-API-Key": READ_KEY})
    assert r.status_code == 413 and "4,096 bytes" in r.json()["error"]["message"]
    assert r.headers["X-BYOD-Table-Version"] == "v0001"

    def chunks():  # no content-length: counted as it streams
        data = json.dumps(big).encode()
        for i in range(0, len(data), 1000):
            yield data[i : i + 1000]

    r = client.post(
        "/v1/users/embeddings:batch",
        content=chunks(),
        headers={"X-API-Key": READ_KEY, "content-type": "application/json"},
    )
    assert r.status_code == 413


def test_no_keys_means_open_reads_and_closed_admin(tiny_deployment, tiny_backbone) -> None:
    with TestClient(make_app(tiny_deployment, tiny_backbone)) as c:
        assert c.get("/v1/users/u1/embedding").status_code == 200
        r = c.post("/v1/admin/reload")
        assert r.status_code == 403 and "no admin API key" in r.json()["error"]["message"]


def test_cors_is_off_by_default(client) -> None:
    r = client.options(
        "/v1/users/u1/embedding",
        headers={"Origin": "https://evil.example", "Access-Control-Request-Method": "GET"},
    )
    assert "access-control-allow-origin" not in r.headers


def test_keys_are_kept_hashed_and_bad_entries_are_named(tmp_path) -> None:
    file = tmp_path / "keys.txt"
    file.write_text(f"# byod keys\nadmin:{hash_key('k1')}\n")
    ring = KeyRing.from_settings(f"read:{hash_key('k2')}", file)
    assert ring.scope_of("k1") == "admin" and ring.scope_of("k2") == "read"
    assert ring.scope_of("k3") is None
    assert "k1" not in file.read_text()
    with pytest.raises(ConfigError, match="expected 'read:<sha256 hex>'"):
        KeyRing(["read:plaintext"])
