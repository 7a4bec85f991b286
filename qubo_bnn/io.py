"""Small I/O helpers shared by the classifier and the CLI: atomic writes, JSON conversion."""
from __future__ import annotations

import os
import sys
import tempfile
from collections.abc import Mapping
from typing import Any

import numpy as np


def to_jsonable(obj: Any) -> Any:
    """Best-effort conversion to JSON types (numpy scalars/arrays, tuples, nested dicts).

    Example:
        >>> to_jsonable({"a": np.int64(3), "b": (np.float32(0.5),)})
        {'a': 3, 'b': [0.5]}
    """
    if isinstance(obj, Mapping):
        return {str(k): to_jsonable(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [to_jsonable(v) for v in obj]
    if isinstance(obj, np.ndarray):
        return obj.tolist()
    if isinstance(obj, np.generic):
        return obj.item()
    if isinstance(obj, (str, int, float, bool)) or obj is None:
        return obj
    return repr(obj)


def check_parent_dir(path: str | os.PathLike) -> str:
    """The directory ``path`` would be written in; ``FileNotFoundError`` if it does not exist."""
    directory = os.path.dirname(os.path.abspath(path))
    if not os.path.isdir(directory):
        raise FileNotFoundError(f"cannot write {os.fspath(path)!r}: directory {directory!r} does not exist")
    return directory


def check_output_path(path: str | os.PathLike) -> None:
    """Fail now, before any work, if ``path`` cannot be written: a directory, a missing or
    read-only parent directory. ``"-"`` (standard output) and existing non-regular files
    (``/dev/stdout``, a pipe) are fine."""
    path = os.fspath(path)
    if path == "-" or (os.path.exists(path) and not os.path.isdir(path) and not os.path.isfile(path)):
        return
    if os.path.isdir(path):
        raise IsADirectoryError(f"cannot write {path!r}: it is a directory")
    directory = check_parent_dir(path)
    if not os.access(directory, os.W_OK) or (os.path.exists(path) and not os.access(path, os.W_OK)):
        raise PermissionError(f"cannot write {path!r}: permission denied")


def atomic_write_text(path: str | os.PathLike, text: str) -> None:
    """Write ``text`` to ``path`` (see :func:`atomic_write_bytes`)."""
    atomic_write_bytes(path, text.encode())


def atomic_write_bytes(path: str | os.PathLike, data: bytes) -> None:
    """Write ``data`` to ``path`` so that no partial file is ever left.

    A regular file is written via a temporary file in the same directory and ``os.replace``,
    with the permissions a new file gets under the umask. ``"-"`` writes to standard output; an
    existing non-regular file (``/dev/stdout``, a pipe) is written in place, never replaced.
    """
    path = os.fspath(path)
    if path == "-":
        sys.stdout.buffer.write(data)
        sys.stdout.flush()
        return
    if os.path.exists(path) and not os.path.isfile(path) and not os.path.isdir(path):
        with open(path, "wb") as fh:
            fh.write(data)
        return
    directory = check_parent_dir(path)
    fd, tmp = tempfile.mkstemp(dir=directory, prefix=".tmp-", suffix=os.path.splitext(path)[1])
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(tmp, 0o666 & ~umask)   # mkstemp makes 0600; a written file follows the umask
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise
