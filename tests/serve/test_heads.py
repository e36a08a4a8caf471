import numpy as np
import pytest

from byod.errors import ByodError
from byod.serve.heads import ClassifyHead, export_classify_head
from byod.transfer.heads import make_head


@pytest.mark.parametrize("kind", ["logistic", "mlp", "majority"])
@pytest.mark.parametrize("n_classes", [2, 3])
def test_exported_heads_match_scikit_learn(tmp_path, kind, n_classes) -> None:
    rng = np.random.default_rng(0)
    x = rng.normal(size=(120, 6))
    y = np.array(["a", "b", "c"][:n_classes])[
        (x[:, 0] > 0).astype(int) + (n_classes == 3) * (x[:, 1] > 1)
    ]
    params = {"hidden": 8, "max_iter": 50} if kind == "mlp" else {}
    head = make_head(kind, **params).fit(x, y)
    served = export_classify_head(head, {"task": "t"})
    loaded = ClassifyHead.load(served.save(tmp_path / kind))
    np.testing.assert_allclose(loaded.predict_proba(x), head.predict_proba(x), atol=1e-6)
    assert loaded.classes == [str(c) for c in head.classes_]
    assert loaded.card["task"] == "t" and not list(tmp_path.rglob("*.pkl"))


def test_a_card_that_does_not_fit_its_weights_is_refused(tmp_path) -> None:
    x = np.random.default_rng(1).normal(size=(40, 4))
    head = make_head("logistic", C=1.0).fit(x, np.array(["a", "b"] * 20))
    folder = export_classify_head(head, {}).save(tmp_path / "h")
    card = (folder / "card.json").read_text().replace('"b"', '"b", "c"')
    (folder / "card.json").write_text(card)
    with pytest.raises(ByodError, match="1 outputs for 3 classes"):
        ClassifyHead.load(folder)
