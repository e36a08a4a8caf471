import numpy as np
import polars as pl
import pytest
from fastapi.testclient import TestClient

from byod.serve.deps import get_settings
from byod.serve.settings import ServeSettings

from .conftest import make_app

EVENTS = [
    {
        "timestamp": "2024-02-01T10:00:00Z",
        "service": "shop",
        "text": "action movie 0",
        "item_id": "i0",
    },
    {
        "timestamp": "2024-02-01T11:00:00",
        "service": "view",
        "text": "space movie 4",
        "item_id": "i4",
    },
    {
        "timestamp": "2024-02-02T09:00:00Z",
        "service": "shop",
        "text": "action movie 8",
        "item_id": "i8",
    },
]


@pytest.fixture(scope="module")
def client(tiny_deployment, tiny_backbone):
    with TestClient(make_app(tiny_deployment, tiny_backbone)) as c:
        yield c


def table_vectors(deployment) -> tuple[list[str], np.ndarray]:
    ids = pl.read_parquet(deployment / "table" / "user_ids.parquet")["user_id"].to_list()
    return ids, np.load(deployment / "table" / "vectors.npy")


def test_health_and_readiness_report_versions_and_hashes(client, tiny_deployment) -> None:
    assert client.get("/healthz").json() == {"status": "ok"}
    ready = client.get("/readyz")
    body = ready.json()
    assert ready.status_code == 200 and body["status"] == "ready"
    assert body["table_version"] == "v0001" and len(body["deployment_hash"]) == 16
    assert body["backbones"] == {"hashing": "hashing-32"}
    assert sorted(body["heads"]) == ["half", "likes", "next-item", "reviews"]
    assert ready.headers["X-BYOD-Table-Version"] == "v0001"


def test_embedding_is_the_table_vector(client, tiny_deployment) -> None:
    ids, vectors = table_vectors(tiny_deployment)
    r = client.get(f"/v1/users/{ids[3]}/embedding")
    assert r.status_code == 200
    np.testing.assert_allclose(r.json()["vector"], vectors[3], rtol=1e-6)
    assert r.headers["X-BYOD-Table-Version"] == "v0001"


def test_unknown_user_is_a_404_that_says_what_to_do(client) -> None:
    r = client.get("/v1/users/nobody/embedding")
    assert r.status_code == 404
    message = r.json()["error"]["message"]
    assert "'nobody'" in message and "/v1/users/embed" in message


def test_batch_returns_found_vectors_and_lists_missing(client, tiny_deployment) -> None:
    ids, vectors = table_vectors(tiny_deployment)
    r = client.post("/v1/users/embeddings:batch", json={"user_ids": [ids[0], "ghost", ids[5]]})
    body = r.json()
    assert r.status_code == 200 and body["missing"] == ["ghost"]
    np.testing.assert_allclose(body["vectors"][ids[5]], vectors[5], rtol=1e-6)


def test_batch_over_the_limit_is_refused(client, tiny_deployment) -> None:
    r = client.post("/v1/users/embeddings:batch", json={"user_ids": ["u1"] * 1001})
    assert r.status_code == 413 and "batch limit of 1,000" in r.json()["error"]["message"]


def test_batch_limit_comes_from_overridable_settings(client, tiny_deployment) -> None:
    small = ServeSettings(deployment=tiny_deployment, max_batch=2)
    client.app.dependency_overrides[get_settings] = lambda: small
    try:
        r = client.post("/v1/users/embeddings:batch", json={"user_ids": ["u1", "u2", "u3"]})
    finally:
        client.app.dependency_overrides.clear()
    assert r.status_code == 413 and "limit of 2" in r.json()["error"]["message"]


def test_embedding_new_events_matches_the_encoder_offline(client, tiny_deployment) -> None:
    from byod.serve.service import embed_events

    r = client.post("/v1/users/embed", json={"events": EVENTS})
    assert r.status_code == 200
    vec = np.array(r.json()["vector"])
    dep = client.app.state.holder.current
    assert vec.shape == (dep.encoder.dim,) and abs(np.linalg.norm(vec) - 1) < 1e-5
    # The served encoder gives what the deployment's encoder computes directly.
    from byod.serve.schemas import Event

    dep = client.app.state.holder.current
    direct = embed_events(dep, [Event(**e) for e in EVENTS])
    np.testing.assert_allclose(vec, direct, rtol=1e-5)


def test_predict_by_user_and_by_events(client, tiny_deployment) -> None:
    ids, vectors = table_vectors(tiny_deployment)
    r = client.post("/v1/heads/likes/predict", json={"user_id": ids[2]})
    body = r.json()
    assert r.status_code == 200 and body["user_source"] == "table"
    assert set(body["probabilities"]) == {"action", "drama", "comedy", "horror"}
    assert abs(sum(body["probabilities"].values()) - 1) < 1e-9
    dep = client.app.state.holder.current
    expected = dep.classify["likes"].predict_proba(vectors[2:3])[0]
    np.testing.assert_allclose(list(body["probabilities"].values()), expected, rtol=1e-9)
    r = client.post("/v1/heads/half/predict", json={"events": EVENTS})
    assert r.status_code == 200 and r.json()["user_source"] == "events"
    assert set(r.json()["probabilities"]) == {"a", "b"}


def test_predict_errors(client) -> None:
    r = client.post("/v1/heads/nope/predict", json={"user_id": "u1"})
    assert r.status_code == 404 and "['half', 'likes']" in r.json()["error"]["message"]
    r = client.post("/v1/heads/likes/predict", json={"user_id": "u1", "events": EVENTS})
    assert r.status_code == 422 and "exactly one of" in r.json()["error"]["message"]
    r = client.post("/v1/heads/likes/predict", json={"events": [{"service": "x"}]})
    assert r.status_code == 422 and "events.0.timestamp" in r.json()["error"]["message"]


def test_recommend_excludes_seen_items_and_reports_timings(client, tiny_deployment) -> None:
    dep = client.app.state.holder.current
    user = "u3"
    seen = {dep.items.ids[i] for i in dep.items.seen[user]}
    r = client.post("/v1/recommend", json={"user_id": user, "k": 5})
    body = r.json()
    assert r.status_code == 200 and len(body["items"]) == 5
    got = [it["item_id"] for it in body["items"]]
    assert not seen & set(got)
    scores = [it["score"] for it in body["items"]]
    assert scores == sorted(scores, reverse=True)
    assert set(body["timings_ms"]) == {"features", "ann", "rerank", "total"}
    with_seen = client.post("/v1/recommend", json={"user_id": user, "k": 30, "exclude_seen": False})
    assert len(with_seen.json()["items"]) == 30  # every item, seen ones too


def test_recommend_rerank_equals_the_head_scoring_all_items(client) -> None:
    dep = client.app.state.holder.current
    head = dep.recommend["next-item"]
    user = "u7"
    vec, _ = dep.store.get_many([user])
    prev = dep.items.vectors[dep.items.seen[user][-1]]
    full = head.score(np.concatenate([vec, prev[None]], axis=1))[0]
    # With every item a candidate, the two stages give exactly the head's full ranking.
    wide = ServeSettings(deployment=dep.path, n_candidates=1000)
    client.app.dependency_overrides[get_settings] = lambda: wide
    try:
        r = client.post("/v1/recommend", json={"user_id": user, "k": 10, "exclude_seen": False})
    finally:
        client.app.dependency_overrides.clear()
    items = r.json()["items"]
    where = {item: i for i, item in enumerate(dep.items.ids)}
    # Scores are the head's, and they are the 10 best of all items (ties may swap ids).
    np.testing.assert_allclose([it["score"] for it in items], np.sort(full)[::-1][:10], rtol=1e-5)
    np.testing.assert_allclose([full[where[it["item_id"]]] for it in items],
                               [it["score"] for it in items], rtol=1e-5)  # fmt: skip
    assert r.json()["n_candidates"] == len(dep.items.ids)


def test_recommend_for_new_events(client) -> None:
    r = client.post("/v1/recommend", json={"events": EVENTS, "k": 3})
    body = r.json()
    assert r.status_code == 200 and body["user_source"] == "events"
    assert {"i0", "i4", "i8"}.isdisjoint(it["item_id"] for it in body["items"])


def test_text_classify(client) -> None:
    r = client.post("/v1/text/reviews/classify", json={"texts": ["great fun", "boring awful"]})
    body = r.json()
    assert r.status_code == 200
    assert [x["label"] for x in body["results"]] == ["fresh", "rotten"]
    assert client.post("/v1/text/nope/classify", json={"texts": ["x"]}).status_code == 404


def test_deployment_lists_heads_and_file_hashes(client) -> None:
    body = client.get("/v1/deployment").json()
    assert body["table_version"] == "v0001"
    assert body["heads"]["likes"]["kind"] == "classify"
    assert "table/vectors.npy" in body["files"] and len(body["files"]["table/vectors.npy"]) == 64
    assert body["items"]["ann"] == "flat" and body["items"]["recall@100"] == 1.0


def test_metrics_count_requests_by_route(client) -> None:
    client.get("/healthz")
    text = client.get("/metrics").text
    assert 'byod_requests_total{method="GET",route="/healthz",status="200"}' in text
    assert "byod_request_seconds_bucket" in text


def test_unknown_route_is_json(client) -> None:
    r = client.get("/v2/nothing")
    assert r.status_code == 404 and "/docs" in r.json()["error"]["message"]
    assert client.get("/openapi.json").json()["info"]["title"] == "byod serve"
