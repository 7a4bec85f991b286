"""Small binary data sets: the embedded digits task, bars and stripes, and users' own files.

Example:
    >>> Xtr, Xte, ytr, yte = load_digits_task(classes=(0, 1), n_train=20, n_test=10)
    >>> Xtr.shape, set(Xtr.ravel().tolist()) <= {0, 1}
    ((20, 16), True)
"""
from __future__ import annotations

import csv
import os
from array import array
from collections.abc import Sequence

import numpy as np

from .validation import as_bits, check_labels

MAX_CSV_BYTES = 1 << 28
"""Largest CSV data file :func:`load_dataset` reads (checked before reading): 256 MiB."""


def binarise_digits(images: np.ndarray, pool: bool = True, threshold: float = 8.0) -> np.ndarray:
    """8x8 digit images (0..16) -> bits: optional 2x2 mean pooling to 4x4, then ``> threshold``."""
    imgs = np.asarray(images, dtype=np.float64).reshape(-1, 8, 8)
    if pool:
        imgs = imgs.reshape(-1, 4, 2, 4, 2).mean(axis=(2, 4))
    return (imgs.reshape(len(imgs), -1) > threshold).astype(np.uint8)


def load_digits_task(classes: Sequence[int] | None = (3, 8), pool: bool = True, threshold: float = 8.0,
                     n_train: int | None = 100, n_test: int | None = None, seed: int = 0):
    """scikit-learn's bundled 8x8 digits (no download), binarised, split reproducibly.

    Args:
        classes: digit classes to keep (``None`` for all ten).
        pool: average 2x2 blocks first (16 features instead of 64).
        threshold: a pixel (or pooled pixel, range 0..16) is on when above it.
        n_train, n_test: sizes of the two disjoint sets (``None``: all that remain).
        seed: seed of the stratified shuffle.

    Returns:
        ``(X_train, X_test, y_train, y_test)``, X as uint8 bits, y the digit labels.
    """
    from sklearn.datasets import load_digits
    from sklearn.model_selection import train_test_split

    digits = load_digits()
    X = binarise_digits(digits.images, pool=pool, threshold=threshold)
    y = digits.target
    if classes is not None:
        classes = [int(c) for c in classes]
        bad = [c for c in classes if c not in range(10)]
        if bad or len(set(classes)) < 2:
            raise ValueError(f"classes must be two or more distinct digits 0-9, got {classes}")
        keep = np.isin(y, classes)
        X, y = X[keep], y[keep]
    total = len(y)
    n_train = total // 2 if n_train is None else int(n_train)
    n_test = total - n_train if n_test is None else int(n_test)
    if n_train < 2 or n_test < 1 or n_train + n_test > total:
        raise ValueError(f"n_train={n_train} and n_test={n_test} do not fit the {total} samples of classes {classes}")
    X_tr, X_rest, y_tr, y_rest = train_test_split(X, y, train_size=n_train, random_state=seed, stratify=y)
    if n_test < len(y_rest):
        X_te, _, y_te, _ = train_test_split(X_rest, y_rest, train_size=n_test, random_state=seed, stratify=y_rest)
    else:
        X_te, y_te = X_rest, y_rest
    return X_tr, X_te, y_tr, y_te


def bars_and_stripes(size: int = 3) -> tuple[np.ndarray, np.ndarray]:
    """All ``size x size`` bars (label 0) and stripes (label 1) patterns, blank/full excluded.

    Example:
        >>> X, y = bars_and_stripes(3)
        >>> X.shape, int(y.sum())
        ((12, 9), 6)
    """
    if size < 2:
        raise ValueError("size must be >= 2")
    masks = [np.array([(m >> k) & 1 for k in range(size)], dtype=np.uint8) for m in range(1, 2**size - 1)]
    bars = [np.tile(m, (size, 1)) for m in masks]          # vertical bars: columns on
    stripes = [np.tile(m[:, None], (1, size)) for m in masks]  # horizontal stripes: rows on
    X = np.array([p.ravel() for p in bars + stripes], dtype=np.uint8)
    y = np.array([0] * len(bars) + [1] * len(stripes))
    return X, y


def load_dataset(path: str | os.PathLike, binary: bool = True) -> tuple[np.ndarray, np.ndarray]:
    """A user's data: ``.npz`` with arrays ``X`` and ``y``, or ``.csv`` with the label last.

    X must be binary ({0, 1} or {-1, +1}) unless ``binary=False`` (real values, finite, for an
    estimator that binarises them itself: ``BNNClassifier(binarize=...)``). A CSV (UTF-8, a byte-order mark is ignored) may
    start with a header row: the first row is a header when none of its feature cells (all but
    the last) is a number, and data otherwise. Every data row needs a number in each feature
    cell and a non-blank label; the error names the line and column of the first that has not.
    Numeric labels become integers (or floats when not integral).

    Example:
        >>> import os, tempfile
        >>> path = os.path.join(tempfile.mkdtemp(), "d.csv")
        >>> with open(path, "w") as fh:
        ...     _ = fh.write("x1,x2,label\\n0,1,cat\\n1,1,dog\\n")
        >>> X, y = load_dataset(path)
        >>> X.tolist(), y.tolist()
        ([[0, 1], [1, 1]], ['cat', 'dog'])
    """
    path = os.fspath(path)
    if not os.path.exists(path):
        raise FileNotFoundError(f"data file {path!r} does not exist")
    ext = os.path.splitext(path)[1].lower()
    if ext == ".npz":
        try:
            with np.load(path, allow_pickle=False) as f:
                names = set(f.files)
                if {"X", "y"} <= names:
                    X, y = f["X"], f["y"]
        except (OSError, ValueError) as exc:
            raise ValueError(f"{path}: not a readable .npz file ({exc})") from None
        missing = {"X", "y"} - names
        if missing:
            raise ValueError(f"{path}: .npz must hold arrays 'X' and 'y' (missing {sorted(missing)})")
    elif ext == ".csv":
        X, y = _read_csv(path)
    else:
        raise ValueError(f"{path}: unsupported data format {ext!r} (use .npz or .csv)")
    if binary:
        X = as_bits(X, name=f"X in {path}")
    else:
        X = np.asarray(X, dtype=np.float64)
        if X.ndim != 2 or not np.isfinite(X).all():
            raise ValueError(f"{path}: X must be a 2-D array of finite numbers")
    return X, check_labels(y, len(X))


def _read_csv(path: str) -> tuple[np.ndarray, np.ndarray]:
    """Features (float) and labels of a CSV data file, label last (rules in :func:`load_dataset`)."""
    size = os.path.getsize(path)
    if size > MAX_CSV_BYTES:     # bounded before anything is read
        raise ValueError(f"{path}: {size} bytes exceeds the limit of {MAX_CSV_BYTES} bytes for a CSV data file")
    features = array("d")        # 8 bytes a cell, parsed row by row
    labels: list[str] = []
    width, first_line = None, None
    try:
        with open(path, newline="", encoding="utf-8-sig") as fh:
            reader = csv.reader(fh)
            for row in reader:
                if not row:
                    continue                                     # a blank line
                line = reader.line_num
                if width is None:
                    width, first_line = len(row), line
                    if width < 2:
                        raise ValueError(f"{path}, line {line}: {width} column; a row needs features, "
                                         "then the label last")
                    if not any(_is_number(cell) for cell in row[:-1]):
                        continue                                 # the header
                if len(row) != width:
                    raise ValueError(f"{path}, line {line}: {len(row)} columns, but line {first_line} has "
                                     f"{width} (features, then the label last)")
                for column, cell in enumerate(row[:-1], start=1):
                    if not _is_number(cell):
                        raise ValueError(f"{path}, line {line}, column {column}: non-numeric feature "
                                         f"value {cell[:40]!r}")
                    features.append(float(cell))
                if not row[-1].strip():
                    raise ValueError(f"{path}, line {line}, column {width}: blank label (the last column "
                                     "holds each row's class)")
                labels.append(row[-1])
    except UnicodeDecodeError as exc:
        raise ValueError(f"{path}: not UTF-8 text (byte {exc.start}: {exc.reason})") from None
    except csv.Error as exc:
        raise ValueError(f"{path}, line {reader.line_num}: unreadable CSV ({exc})") from None
    if not labels:
        raise ValueError(f"{path}: no data rows")
    X = np.frombuffer(features, dtype=np.float64).reshape(len(labels), width - 1)
    y = np.array(labels)
    if all(_is_number(v) for v in labels):
        yf = y.astype(float)
        y = yf.astype(int) if np.all(yf == np.round(yf)) else yf
    return X, y


def _is_number(cell: str) -> bool:
    try:
        float(cell)
        return True
    except ValueError:
        return False
