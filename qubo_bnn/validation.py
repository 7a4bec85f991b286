"""Input checks at the library's boundary: binary data, weights and labels."""
from __future__ import annotations

import copy

import numpy as np


def _as_2d_numeric(X, name: str = "X") -> np.ndarray:
    if hasattr(X, "toarray") and hasattr(X, "nnz"):   # scipy.sparse
        raise TypeError(f"{name} is a sparse matrix; qubo-bnn needs dense binary data: pass {name}.toarray()")
    try:
        arr = np.asarray(X)
    except Exception as exc:  # ragged lists and the like
        raise ValueError(f"{name} could not be read as an array: {exc}") from None
    if arr.dtype == object or not (np.issubdtype(arr.dtype, np.number) or arr.dtype == bool):
        raise TypeError(f"{name} must be numeric (0/1 or -1/+1), got dtype {arr.dtype}")
    if arr.ndim != 2:
        raise ValueError(f"{name} must be 2-D (n_samples, n_features), got shape {arr.shape}")
    if arr.shape[0] == 0:
        raise ValueError(f"{name} has no samples")
    if np.issubdtype(arr.dtype, np.floating) and not np.isfinite(arr).all():
        raise ValueError(f"{name} contains NaN or infinite values; binarise or impute it first")
    return arr


def check_training_data(X, y, estimator=None) -> tuple[np.ndarray, np.ndarray]:
    """``(X bits, y)`` checked the scikit-learn way, at an estimator's ``fit``.

    scikit-learn's own checks (and messages) first: y given, no sparse, complex, empty or
    non-finite data, matching lengths, classification targets (not continuous); then ``X``
    must be binary (:func:`as_bits`).

    With an ``estimator``, the checks run through scikit-learn's ``validate_data(...,
    reset=True)``, and once all of them passed its ``n_features_in_`` is recorded on the
    estimator, with ``feature_names_in_`` when ``X`` has string column names (a pandas
    DataFrame; a stale one is removed otherwise), so that :func:`check_prediction_data` can
    refuse renamed or reordered columns. Refused data leave the estimator as it was.

    Example:
        >>> Xb, y = check_training_data([[0, 1], [1, 1]], ["a", "b"])
        >>> Xb.dtype, y.tolist()
        (dtype('uint8'), ['a', 'b'])
    """
    from sklearn.utils.multiclass import check_classification_targets
    from sklearn.utils.validation import check_X_y, validate_data

    if estimator is None:
        X, y = check_X_y(X, y, dtype=None, ensure_all_finite=True)
    else:
        probe = copy.copy(estimator)        # validate_data records on it; the estimator only on success
        X, y = validate_data(probe, X, y, reset=True, dtype=None, ensure_all_finite=True)
    check_classification_targets(y)   # continuous y is a regression target, not classes
    y = check_labels(y, len(X))       # labels before X's values: "one class" beats "not binary"
    Xb = as_bits(X)
    if estimator is not None:
        estimator.n_features_in_ = probe.n_features_in_
        if hasattr(probe, "feature_names_in_"):
            estimator.feature_names_in_ = probe.feature_names_in_
        elif hasattr(estimator, "feature_names_in_"):
            del estimator.feature_names_in_
    return Xb, y


def check_prediction_data(X, n_features: int | None = None, estimator="estimator") -> np.ndarray:
    """``X`` bits for a fitted ``estimator`` with ``n_features`` inputs (scikit-learn's checks first).

    ``estimator`` is either the estimator's name, for messages (then ``n_features`` is
    required), or the fitted estimator itself: then scikit-learn's ``validate_data(...,
    reset=False)`` checks ``X`` against the ``n_features_in_`` and ``feature_names_in_`` that
    :func:`check_training_data` recorded, so columns renamed or reordered since ``fit`` are an
    error (data without names where names were fitted, or the reverse, only warn, as in
    scikit-learn).

    Example:
        >>> check_prediction_data([[1, 0]], 2, "BNNClassifier").tolist()
        [[1, 0]]
    """
    from sklearn.utils.validation import check_array, validate_data

    if not isinstance(estimator, str):
        try:
            X = validate_data(estimator, X, reset=False, dtype=None, ensure_all_finite=True)
        except ValueError as exc:   # scikit-learn lists mismatched feature names over several lines
            raise ValueError(one_line(str(exc))) from None
        return as_bits(X)
    if n_features is None:
        raise TypeError("check_prediction_data needs n_features when estimator is a name")
    X = check_array(X, dtype=None, ensure_all_finite=True)
    if X.shape[1] != n_features:
        raise ValueError(f"X has {X.shape[1]} features, but {estimator} is expecting {n_features} "
                         "features as input")
    return as_bits(X)


def one_line(message: str) -> str:
    """A multi-line message (scikit-learn's lists of ``- item`` lines) as one line.

    Example:
        >>> one_line("Names should match.\\nUnseen at fit time:\\n- c\\n- d\\n")
        'Names should match; Unseen at fit time: c, d'
    """
    parts: list[str] = []
    for line in message.strip().splitlines():
        if line.startswith("- ") and parts:
            parts[-1] += (" " if parts[-1].endswith(":") else ", ") + line[2:].strip()
        elif line.strip():
            parts.append(line.strip().rstrip("."))
    return "; ".join(parts)


def as_bits(X, n_features: int | None = None, name: str = "X") -> np.ndarray:
    """``X`` as a uint8 array of bits; accepts {0, 1} or {-1, +1} (read as -1 -> 0, +1 -> 1).

    Example:
        >>> as_bits([[-1, 1], [1, 1]]).tolist()
        [[0, 1], [1, 1]]
    """
    arr = _as_2d_numeric(X, name)
    if n_features is not None and arr.shape[1] != n_features:
        raise ValueError(f"{name} has {arr.shape[1]} features but the network expects {n_features}")
    if arr.dtype.kind in "biu" and arr.size:            # integers: the range tells (no sort)
        lo, hi = arr.min(), arr.max()
        if 0 <= lo and hi <= 1:
            return arr.astype(np.uint8)
        if lo == -1 and hi <= 1 and not (arr == 0).any():
            return (arr > 0).astype(np.uint8)
    vals = np.unique(arr)
    if np.isin(vals, (0, 1)).all():
        return arr.astype(np.uint8)
    if np.isin(vals, (-1, 1)).all():
        return (arr > 0).astype(np.uint8)
    bad = [v for v in vals if v not in (-1, 0, 1)][:5]
    raise ValueError(f"{name} must be binary, {{0, 1}} or {{-1, +1}}; found values such as {bad}. "
                     "Binarise it first (e.g. X > threshold).")


def as_spins(X, n_features: int | None = None, name: str = "X") -> np.ndarray:
    """``X`` as an int8 array of spins {-1, +1} (see :func:`as_bits`)."""
    return (2 * as_bits(X, n_features, name).astype(np.int8) - 1).astype(np.int8)


def check_weights(weights, n_weights: int, batch: bool = False) -> np.ndarray:
    """Weights as int64 spins; accepts {-1, +1} or bits {0, 1}; ``batch``: rows of weights."""
    w = np.asarray(weights)
    if batch and (w.ndim != 2 or w.shape[1] != n_weights):
        raise ValueError(f"weights must have shape (n, {n_weights}), got {w.shape}")
    if not batch and w.shape != (n_weights,):
        raise ValueError(f"weights must have shape ({n_weights},), got {w.shape}")
    if ((w == 1) | (w == -1)).all():
        return w.astype(np.int64)
    if ((w == 0) | (w == 1)).all():
        return 2 * w.astype(np.int64) - 1
    raise ValueError("weights must be in {-1, +1} (or bits {0, 1})")


def check_labels(y, n_samples: int) -> np.ndarray:
    """1-D labels matching ``n_samples`` rows, no NaN, at least two classes."""
    arr = np.asarray(y)
    if arr.ndim == 2 and arr.shape[1] == 1:
        arr = arr.ravel()
    if arr.ndim != 1:
        raise ValueError(f"y must be 1-D (n_samples,), got shape {arr.shape}")
    if arr.shape[0] != n_samples:
        raise ValueError(f"X has {n_samples} samples but y has {arr.shape[0]}")
    if np.issubdtype(arr.dtype, np.floating) and not np.isfinite(arr).all():
        raise ValueError("y contains NaN or infinite values")
    classes = np.unique(arr)
    if len(classes) < 2:
        raise ValueError(f"y has only one class ({classes[0].item()!r}): a classifier needs at least two")
    return arr
