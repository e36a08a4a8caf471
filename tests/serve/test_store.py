import numpy as np
import pytest
from fastapi.testclient import TestClient

from byod.errors import ByodError
from byod.serve.store import MemoryStore, RedisStore

from .conftest import make_app


def _data(n=50, dim=8):
    rng = np.random.default_rng(0)
    return [f"u{i}" for i in range(n)], rng.normal(size=(n, dim)).astype(np.float32)


def test_memory_store_looks_up_and_marks_missing() -> None:
    ids, vectors = _data()
    store = MemoryStore(ids, vectors, "v0001")
    got, found = store.get_many(["u3", "nobody", "u0"])
    assert found.tolist() == [True, False, True]
    np.testing.assert_array_equal(got[[0, 2]], vectors[[3, 0]])
    assert (got[1] == 0).all() and len(store) == 50


def test_redis_store_round_trips_vectors_as_bytes(redis_url) -> None:
    ids, vectors = _data()
    store = RedisStore.connect(redis_url, "v0007", 8, prefix="t1")
    assert not store.is_loaded(len(ids))
    store.load(ids, vectors, batch=16)
    assert store.is_loaded(len(ids)) and len(store) == 50
    got, found = store.get_many(["u49", "ghost", "u1"])
    assert found.tolist() == [True, False, True]
    np.testing.assert_array_equal(got[[0, 2]], vectors[[49, 1]])
    raw = store.client.get("t1:v0007:u:u1")
    assert raw == vectors[1].tobytes()
    # Another version lives beside it under its own keys.
    other = RedisStore.connect(redis_url, "v0008", 8, prefix="t1")
    assert other.get_many(["u1"])[1].tolist() == [False]
    store.client.set("t1:v0007:u:u2", b"short")
    with pytest.raises(ByodError, match="holds 5 bytes, expected 32"):
        store.get_many(["u2"])
    store.close()


def test_redis_that_does_not_answer_is_a_clear_error() -> None:
    from .conftest import free_port

    with pytest.raises(ByodError, match="does not answer"):
        RedisStore.connect(f"redis://127.0.0.1:{free_port()}/0", "v1", 8)


def test_the_service_on_redis_answers_like_in_process(redis_url, tiny_deployment, tiny_backbone):
    with TestClient(make_app(tiny_deployment, tiny_backbone)) as local:
        want = local.post("/v1/users/embeddings:batch", json={"user_ids": ["u1", "u2", "zz"]})
    app = make_app(tiny_deployment, tiny_backbone, store="redis", redis_url=redis_url)
    with TestClient(app) as c:
        dep = c.app.state.holder.current
        assert isinstance(dep.store, RedisStore)
        got = c.post("/v1/users/embeddings:batch", json={"user_ids": ["u1", "u2", "zz"]})
        assert got.json() == want.json()
        r = c.post("/v1/recommend", json={"user_id": "u1", "k": 3})
        assert r.status_code == 200 and len(r.json()["items"]) == 3
