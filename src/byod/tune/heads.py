"""Head factories for tuning: a study's parameters -> a :mod:`byod.transfer.heads` head.

The MLP head of :mod:`byod.transfer.heads` has one hidden layer and scikit-learn's default
learning rate; :class:`DeepMLPHead` adds ``depth`` and ``lr`` (same pipeline, same export to the
serving form). scikit-learn's MLP has no dropout, so none is searched (``alpha``, its L2 penalty,
is the regulariser).
"""

from __future__ import annotations

from typing import Any

from sklearn.neural_network import MLPClassifier
from sklearn.pipeline import Pipeline, make_pipeline

from byod.features.blocks import BlockLayout
from byod.transfer.heads import MLPHead, block_scaler, make_head

__all__ = ["DeepMLPHead", "build_head", "default_head", "default_params"]


class DeepMLPHead(MLPHead):
    """:class:`~byod.transfer.heads.MLPHead` with ``depth`` hidden layers and a learning rate.

    Args:
        hidden: width of every hidden layer.
        depth: number of hidden layers.
        alpha: L2 penalty.
        lr: Adam's initial learning rate.
        max_iter: epochs (early stopping on 10 % of the rows from 500 rows on).
        seed: initialisation and shuffling.
        scaling: see :mod:`byod.transfer.heads`.
        blocks: ``((offset, dim, mode), ...)`` column blocks.
    """

    def __init__(
        self,
        hidden: int = 256,
        depth: int = 1,
        alpha: float = 1e-3,
        lr: float = 1e-3,
        max_iter: int = 200,
        seed: int = 0,
        scaling: str = "auto",
        blocks: Any = None,
    ) -> None:
        super().__init__(hidden, alpha, max_iter, seed, scaling, blocks)
        self.depth = depth
        self.lr = lr

    def _pipeline(self, X: Any, y: Any) -> Pipeline:  # noqa: N803
        return make_pipeline(
            *block_scaler(X, self.scaling, self.blocks),
            MLPClassifier(
                hidden_layer_sizes=(self.hidden,) * self.depth,
                alpha=self.alpha,
                learning_rate_init=self.lr,
                early_stopping=X.shape[0] >= 500,
                max_iter=self.max_iter,
                random_state=self.seed,
            ),
        )


def _spec(layout: BlockLayout, scaling: str) -> tuple[tuple[int, int, str], ...]:
    """Block spec for ``scaling``: ``auto`` keeps each block's own mode, else one mode for all."""
    spec = layout.spec()
    return spec if scaling == "auto" else tuple((o, d, scaling) for o, d, _ in spec)


def build_head(kind: str, params: dict[str, Any], layout: BlockLayout, seed: int = 0) -> Any:
    """A fresh head of ``kind`` (``logistic`` | ``mlp``) with a trial's resolved ``params``.

    Args:
        kind: the head.
        params: resolved parameters (``blocks`` already applied to ``layout``).
        layout: the blocks of the matrix the head will see.
        seed: the head's seed.
    """
    scaling = params.get("scaling", "auto")
    blocks = _spec(layout, scaling)
    if kind == "logistic":
        return make_head("logistic", C=params.get("C"), scaling="auto", blocks=blocks, seed=seed)
    return DeepMLPHead(
        hidden=int(params.get("hidden", 256)),
        depth=int(params.get("depth", 1)),
        alpha=float(params.get("alpha", 1e-3)),
        lr=float(params.get("lr", 1e-3)),
        max_iter=int(params.get("epochs", 200)),
        seed=seed,
        scaling="auto",
        blocks=blocks,
    )


def default_head(kind: str, layout: BlockLayout, seed: int = 0) -> Any:
    """What ``byod transfer classify`` fits: every block, each in its own scaling, built-in CV."""
    return make_head(kind, blocks=layout.spec(), seed=seed)


def default_params(kind: str, layout: BlockLayout) -> dict[str, Any]:
    """:func:`default_head`'s settings, named as the search space names them (for the report)."""
    head = default_head(kind, layout)
    out: dict[str, Any] = {"blocks": list(layout.names), "scaling": "auto"}
    if kind == "logistic":
        out["C"] = f"{head.cv}-fold CV over {len(head.Cs)} values"
    else:
        out.update(hidden=head.hidden, depth=1, alpha=head.alpha, lr=1e-3, epochs=head.max_iter)
    return out
