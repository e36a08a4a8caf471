"""Classification heads on frozen user features (scikit-learn contract).

``__init__`` only stores arguments, ``fit`` returns ``self``, learned state ends in ``_``,
``predict`` / ``predict_proba`` refuse to run unfitted. Features are standardised on the training
users only; the logistic head picks its regularisation by cross-validation on the training part.
"""

from __future__ import annotations

import numpy as np
from scipy import sparse
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.dummy import DummyClassifier
from sklearn.linear_model import LogisticRegression, LogisticRegressionCV
from sklearn.neural_network import MLPClassifier
from sklearn.pipeline import Pipeline, make_pipeline
from sklearn.preprocessing import StandardScaler
from sklearn.utils.validation import check_is_fitted

__all__ = ["LogisticHead", "MLPHead", "MajorityHead", "HEADS", "make_head"]


class _PipelineHead(ClassifierMixin, BaseEstimator):
    """Shared fit / predict over a scikit-learn pipeline built by ``_pipeline``."""

    def _pipeline(self, X: np.ndarray, y: np.ndarray) -> Pipeline:  # noqa: N803
        raise NotImplementedError

    def fit(self, X: np.ndarray, y: np.ndarray) -> _PipelineHead:  # noqa: N803 (sklearn names)
        """Fit on ``X`` ``(n, d)`` (dense or sparse) and labels ``y`` ``(n,)``."""
        self.pipeline_ = self._pipeline(X, y).fit(X, y)
        self.classes_ = self.pipeline_.classes_
        self.tuned_params_: dict[str, object] = self._tuned()
        return self

    def _tuned(self) -> dict[str, object]:
        """Hyper-parameters chosen during ``fit`` (reusable on another split of the same data)."""
        return {}

    def predict_proba(self, X: np.ndarray) -> np.ndarray:  # noqa: N803
        """Class probabilities ``(n, n_classes)`` in the order of ``classes_``."""
        check_is_fitted(self, "pipeline_")
        return self.pipeline_.predict_proba(X)

    def predict(self, X: np.ndarray) -> np.ndarray:  # noqa: N803
        """The most probable class per row (consistent with ``predict_proba``)."""
        return self.classes_[self.predict_proba(X).argmax(axis=1)]


class LogisticHead(_PipelineHead):
    """Standardise, then logistic regression; ``C`` by ``cv``-fold cross-validation unless given.

    Sparse inputs (bags of items) are scaled without centering, so they stay sparse. The chosen
    ``C`` is in ``tuned_params_`` so repeated splits of one dataset can skip the search.
    """

    def __init__(
        self,
        C: float | None = None,  # noqa: N803 (sklearn's name)
        Cs: tuple[float, ...] = (0.01, 0.1, 1.0),
        cv: int = 3,
        max_iter: int = 300,
        tol: float = 1e-3,
    ) -> None:
        self.C = C
        self.Cs = Cs
        self.cv = cv
        self.max_iter = max_iter
        self.tol = tol

    def _pipeline(self, X: np.ndarray, y: np.ndarray) -> Pipeline:  # noqa: N803
        # Few-shot data (a class with fewer rows than folds) cannot be cross-validated: use
        # scikit-learn's default C = 1.
        smallest = int(np.unique(np.asarray(y), return_counts=True)[1].min())
        fixed = self.C if self.C is not None else (1.0 if smallest < self.cv else None)
        if fixed is not None:
            model = LogisticRegression(C=fixed, max_iter=self.max_iter, tol=self.tol)
        else:
            model = LogisticRegressionCV(
                Cs=list(self.Cs),
                cv=self.cv,
                l1_ratios=(0.0,),
                scoring="neg_log_loss",
                max_iter=self.max_iter,
                tol=self.tol,
                use_legacy_attributes=False,
            )
        return make_pipeline(StandardScaler(with_mean=not sparse.issparse(X)), model)

    def _tuned(self) -> dict[str, object]:
        model = self.pipeline_[-1]
        return {"C": float(np.ravel(model.C_)[0]) if hasattr(model, "C_") else float(model.C)}


class MLPHead(_PipelineHead):
    """Standardise, then a one-hidden-layer MLP.

    With 500+ training rows, 10 % of them drive early stopping; fewer rows are too few to
    hold out, so the MLP trains for ``max_iter`` epochs under its L2 penalty ``alpha``.
    """

    def __init__(
        self, hidden: int = 256, alpha: float = 1e-3, max_iter: int = 200, seed: int = 0
    ) -> None:
        self.hidden = hidden
        self.alpha = alpha
        self.max_iter = max_iter
        self.seed = seed

    def _pipeline(self, X: np.ndarray, y: np.ndarray) -> Pipeline:  # noqa: N803
        return make_pipeline(
            StandardScaler(with_mean=not sparse.issparse(X)),
            MLPClassifier(
                hidden_layer_sizes=(self.hidden,),
                alpha=self.alpha,
                early_stopping=X.shape[0] >= 500,
                max_iter=self.max_iter,
                random_state=self.seed,
            ),
        )


class MajorityHead(_PipelineHead):
    """Always the most frequent training class (the floor every head must clear)."""

    def _pipeline(self, X: np.ndarray, y: np.ndarray) -> Pipeline:  # noqa: N803
        return make_pipeline(DummyClassifier(strategy="prior"))


HEADS = {"logistic": LogisticHead, "mlp": MLPHead, "majority": MajorityHead}


def make_head(name: str, **params: object) -> _PipelineHead:
    """A fresh head by name (``logistic``, ``mlp``, ``majority``)."""
    from byod.errors import ConfigError

    if name not in HEADS:
        raise ConfigError(f"unknown head {name!r}; choose one of {list(HEADS)}")
    return HEADS[name](**params)
