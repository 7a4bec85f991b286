"""``ThresholdBinarizer``: real-valued features to the bits a binary network reads.

Each feature ``j`` gets thresholds learnt on the training data only, and each threshold ``t``
one output bit; **the rule is ``bit = x > t``** (stated here once: :meth:`ThresholdBinarizer.transform`;
exporters of fitted models reproduce exactly this comparison on ``features_`` and
``thresholds_``). With several thresholds a feature becomes a thermometer code (bit ``i`` is
set when the value exceeds the ``i``-th threshold); with one it is a median or mean split. For a
one-hot code of quantile bins use scikit-learn's
:class:`~sklearn.preprocessing.KBinsDiscretizer` (``encode="onehot-dense"``) instead.

A threshold that does not split the training data (every training value on one side) gives a
constant bit and is dropped, as are duplicates, so a feature constant on the training set gets
no bit (a dead input). On data that are already 0/1, ``"median"`` drops every column with a
majority of ones (its median is 1, and no value exceeds it); ``"mean"`` or ``"uniform:1"``
keep every non-constant column.

Example:
    >>> import numpy as np
    >>> X = np.array([[0.0, 5.0], [1.0, 5.0], [2.0, 5.0], [3.0, 5.0]])
    >>> b = ThresholdBinarizer().fit(X)           # feature 1 is constant: no bit
    >>> b.features_.tolist(), b.thresholds_.tolist()
    ([0], [1.5])
    >>> b.transform([[1.0, 9.0], [1.6, 0.0]]).tolist()
    [[0], [1]]
    >>> make_binarizer("quantile:3").fit(X).thresholds_.tolist()
    [0.75, 1.5, 2.25]
"""
from __future__ import annotations

from numbers import Integral

import numpy as np
from sklearn.base import BaseEstimator, TransformerMixin, clone
from sklearn.utils._param_validation import Interval, StrOptions
from sklearn.utils.validation import _check_feature_names_in, check_is_fitted, validate_data

from .validation import one_line

MAX_THRESHOLDS = 1024
"""Most thresholds per feature: the bound on ``n_thresholds`` and on
:meth:`~ThresholdBinarizer.from_thresholds`."""

TRANSFORM_BLOCK = 1 << 20
"""Values compared per block in :meth:`~ThresholdBinarizer.transform` (bounds its temporaries)."""

SPEC_FORMS = f'"median", "mean", "quantile:K" or "uniform:K" (K an integer from 1 to {MAX_THRESHOLDS})'
"""The forms :func:`make_binarizer` accepts."""


def splitting_thresholds(column: np.ndarray, method: str, k: int) -> np.ndarray:
    """The sorted, distinct thresholds ``method`` learns from one training ``column`` that
    split it (some value ``<= t``, some ``> t``).

    Example:
        >>> bits = np.array([0.0, 1.0, 1.0, 1.0])          # median 1: no value exceeds it
        >>> splitting_thresholds(bits, "median", 1).tolist(), splitting_thresholds(bits, "mean", 1).tolist()
        ([], [0.75])
    """
    if method == "median":
        candidates = np.median(column, keepdims=True)
    elif method == "mean":
        candidates = np.mean(column, keepdims=True)
    else:
        levels = np.arange(1, k + 1) / (k + 1)
        if method == "quantile":
            candidates = np.quantile(column, levels)
        else:                                            # "uniform": evenly spaced, strictly inside
            candidates = column.min() + levels * (column.max() - column.min())
    kept = np.unique(candidates)                         # sorted, duplicates merged
    return kept[(kept >= column.min()) & (kept < column.max())].astype(np.float64)


class ThresholdBinarizer(TransformerMixin, BaseEstimator):
    """Encode each real-valued feature as bits ``x > t``, thresholds learnt on the training data.

    Args:
        method: ``"median"`` or ``"mean"`` (one threshold per feature), ``"quantile"``
            (thresholds at the ``i / (n_thresholds + 1)`` quantiles, ``i = 1..n_thresholds``),
            ``"uniform"`` (``n_thresholds`` evenly spaced values strictly between the training
            minimum and maximum).
        n_thresholds: thresholds per feature before duplicates and non-splitting ones are
            dropped; must be 1 for ``"median"`` and ``"mean"``.

    Attributes:
        features_ (int64): the source feature of each output bit, in output order (ascending).
        thresholds_ (float64): its threshold; within a feature, strictly increasing.
        n_features_in_, feature_names_in_ (only when fitted on data with string column names).

    Example:
        >>> import numpy as np
        >>> b = ThresholdBinarizer("uniform", n_thresholds=3).fit(np.array([[0.0], [4.0]]))
        >>> b.thresholds_.tolist(), b.transform(np.array([[2.5]])).tolist()
        ([1.0, 2.0, 3.0], [[1, 1, 0]])
        >>> b.get_feature_names_out().tolist()
        ['x0>1.0', 'x0>2.0', 'x0>3.0']
    """

    _parameter_constraints: dict = {
        "method": [StrOptions({"median", "mean", "quantile", "uniform"})],
        "n_thresholds": [Interval(Integral, 1, MAX_THRESHOLDS, closed="both")],
    }

    def __init__(self, method: str = "median", n_thresholds: int = 1):
        self.method = method
        self.n_thresholds = n_thresholds

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.transformer_tags.preserves_dtype = []     # the output is uint8 bits, whatever comes in
        return tags

    def _check_method(self) -> None:
        self._validate_params()
        if self.method in ("median", "mean") and self.n_thresholds != 1:
            raise ValueError(f"method={self.method!r} gives one threshold per feature: set n_thresholds=1 "
                             f"(got {self.n_thresholds}), or use 'quantile' or 'uniform' for more")

    def fit(self, X, y=None) -> "ThresholdBinarizer":
        """Learn the thresholds of every feature of ``X`` (``y`` is ignored)."""
        self._check_method()
        probe = clone(self)                  # a refused X leaves self as it was
        X = validate_data(probe, X, dtype=np.float64, ensure_all_finite=True, reset=True)
        features, thresholds = [], []
        for j in range(X.shape[1]):
            kept = splitting_thresholds(X[:, j], self.method, int(self.n_thresholds))
            features.append(np.full(len(kept), j, dtype=np.int64))
            thresholds.append(kept)
        features, thresholds = np.concatenate(features), np.concatenate(thresholds)
        if len(features) == 0:
            n = X.shape[0]
            raise ValueError(f"no threshold splits the training data: every feature of X is constant over "
                             f"its {n} sample{'s' if n != 1 else ''}; fit on data whose features vary")
        self.features_, self.thresholds_ = features, thresholds
        self.n_features_in_ = probe.n_features_in_
        if hasattr(probe, "feature_names_in_"):
            self.feature_names_in_ = probe.feature_names_in_
        elif hasattr(self, "feature_names_in_"):
            del self.feature_names_in_
        return self

    def transform(self, X) -> np.ndarray:
        """``(n_samples, len(thresholds_))`` uint8 bits: ``X[:, features_] > thresholds_``."""
        check_is_fitted(self, "thresholds_")
        try:
            X = validate_data(self, X, dtype=np.float64, ensure_all_finite=True, reset=False)
        except ValueError as exc:    # scikit-learn lists mismatched feature names over several lines
            raise ValueError(one_line(str(exc))) from None
        bits = np.empty((X.shape[0], len(self.thresholds_)), dtype=np.uint8)
        step = max(1, TRANSFORM_BLOCK // max(1, len(self.thresholds_)))   # bounded float temporaries
        for start in range(0, X.shape[0], step):
            rows = slice(start, start + step)
            bits[rows] = X[rows][:, self.features_] > self.thresholds_
        return bits

    def get_feature_names_out(self, input_features=None) -> np.ndarray:
        """One name per output bit, ``"<feature>><threshold>"``, e.g. ``"age>41.5"``."""
        check_is_fitted(self, "thresholds_")
        names = _check_feature_names_in(self, input_features)
        return np.asarray([f"{names[j]}>{float(t)!r}" for j, t in zip(self.features_, self.thresholds_)],
                          dtype=object)

    @classmethod
    def from_thresholds(cls, features, thresholds, n_features_in: int, *, feature_names_in=None,
                        method: str = "median", n_thresholds: int = 1) -> "ThresholdBinarizer":
        """A fitted binarizer from its arrays (e.g. read from a model file), checked.

        ``features`` must be ascending, and ``thresholds`` finite and strictly increasing
        within each feature, as :meth:`fit` leaves them; ``method`` and ``n_thresholds`` only
        say how they were learnt (what a refit would do).

        Example:
            >>> b = ThresholdBinarizer.from_thresholds([0, 0, 2], [0.5, 1.5, -1.0], 3)
            >>> b.transform([[1.0, 7.0, 0.0]]).tolist()
            [[1, 0, 1]]
        """
        binarizer = cls(method=method, n_thresholds=n_thresholds)
        binarizer._validate_params()
        if isinstance(n_features_in, bool) or not isinstance(n_features_in, Integral) or n_features_in < 1:
            raise ValueError(f"n_features_in must be a positive integer, got {n_features_in!r}")
        try:
            f = np.asarray(features)
            t = np.asarray(thresholds, dtype=np.float64)
        except (TypeError, ValueError) as exc:
            raise ValueError(f"features and thresholds must be 1-D numeric arrays ({exc})") from None
        if f.ndim != 1 or t.ndim != 1 or len(f) != len(t) or len(f) == 0:
            raise ValueError(f"features and thresholds must be 1-D arrays of the same, non-zero length; "
                             f"got shapes {f.shape} and {t.shape}")
        if f.dtype.kind not in "iu" and not (f.dtype.kind == "f" and np.array_equal(f, np.round(f))):
            raise ValueError(f"features must be integer feature indices, got dtype {f.dtype}")
        f = f.astype(np.int64)
        if f.min() < 0 or f.max() >= n_features_in:
            raise ValueError(f"features must be indices in [0, {n_features_in - 1}], got values from "
                             f"{f.min()} to {f.max()}")
        if not np.isfinite(t).all():
            raise ValueError("thresholds must be finite")
        same = f[1:] == f[:-1]
        if (np.diff(f) < 0).any() or (same & (np.diff(t) <= 0)).any():
            raise ValueError("features must be ascending and thresholds strictly increasing within each "
                             "feature (the order fit leaves them in)")
        if np.bincount(f).max() > MAX_THRESHOLDS:
            raise ValueError(f"at most {MAX_THRESHOLDS} thresholds per feature")
        if feature_names_in is not None:
            names = np.asarray(feature_names_in, dtype=object)
            if names.shape != (n_features_in,) or not all(isinstance(n, str) for n in names):
                raise ValueError(f"feature_names_in must be {n_features_in} strings, one per input feature")
            binarizer.feature_names_in_ = names
        binarizer.features_, binarizer.thresholds_, binarizer.n_features_in_ = f, t, int(n_features_in)
        return binarizer


def make_binarizer(spec: str) -> ThresholdBinarizer:
    """The :class:`ThresholdBinarizer` that ``spec`` names: ``"median"``, ``"mean"``,
    ``"quantile:K"`` or ``"uniform:K"`` (``K`` thresholds per feature).

    Example:
        >>> make_binarizer("uniform:4")
        ThresholdBinarizer(method='uniform', n_thresholds=4)
        >>> make_binarizer("quantile")
        Traceback (most recent call last):
        ...
        ValueError: binarizer 'quantile' not understood: use "median", "mean", "quantile:K" or "uniform:K" (K an integer from 1 to 1024)
    """
    if not isinstance(spec, str):
        raise ValueError(f"binarizer must be a string such as {SPEC_FORMS}, got {type(spec).__name__}")
    if spec in ("median", "mean"):
        return ThresholdBinarizer(spec, 1)
    method, _, count = spec.partition(":")
    if (method in ("quantile", "uniform") and count.isascii() and count.isdigit() and len(count) <= 4
            and 1 <= int(count) <= MAX_THRESHOLDS):
        return ThresholdBinarizer(method, int(count))
    raise ValueError(f"binarizer {spec!r} not understood: use {SPEC_FORMS}")
