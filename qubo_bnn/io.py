"""Small I/O helpers shared by the classifier and the CLI: atomic writes, JSON conversion."""
from __future__ import annotations

import contextlib
import os
import signal
import stat
import sys
import tempfile
import threading
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
    target = _link_target(path)
    directory = check_parent_dir(target)
    if not os.access(directory, os.W_OK) or (os.path.exists(target) and not os.access(target, os.W_OK)):
        raise PermissionError(f"cannot write {path!r}: permission denied")


def atomic_write_text(path: str | os.PathLike, text: str) -> None:
    """Write ``text`` to ``path`` (see :func:`atomic_write_bytes`)."""
    atomic_write_bytes(path, text.encode())


def atomic_write_bytes(path: str | os.PathLike, data: bytes) -> None:
    """Write ``data`` to ``path`` so that no partial file is ever left.

    A regular file is written via a temporary file in the same directory and ``os.replace``.
    An existing file keeps its permission bits; a new one gets those the umask gives. A symbolic
    link is written through: its target is replaced (atomically, in the target's directory) and
    the link stays. The temporary file is removed on any exception and, from the main thread, on
    SIGTERM too (the process then still dies of the SIGTERM). ``"-"`` writes to standard output;
    an existing non-regular file (``/dev/stdout``, a pipe) is written in place, never replaced.

    Example:
        >>> import os, tempfile
        >>> d = tempfile.mkdtemp()
        >>> out = os.path.join(d, "out.txt")
        >>> atomic_write_bytes(out, b"one"); os.chmod(out, 0o600); atomic_write_bytes(out, b"two")
        >>> open(out).read(), oct(os.stat(out).st_mode & 0o777), os.listdir(d)
        ('two', '0o600', ['out.txt'])
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
    target = _link_target(path)
    directory = check_parent_dir(target)
    try:
        mode = stat.S_IMODE(os.stat(target).st_mode)    # an existing file keeps its permissions
    except FileNotFoundError:
        umask = os.umask(0)
        os.umask(umask)
        mode = 0o666 & ~umask                             # a new file follows the umask
    with _sigterm_raises():
        tmp = fh = None
        try:
            with _signals_blocked():    # no signal between creating the file and knowing its name
                fd, tmp = tempfile.mkstemp(dir=directory, prefix=".tmp-", suffix=os.path.splitext(target)[1])
                fh = os.fdopen(fd, "wb")
            with fh:
                _write_data(fh, data)
            os.chmod(tmp, mode)       # mkstemp makes 0600
            os.replace(tmp, target)
        except BaseException:
            if fh is not None:
                fh.close()
            if tmp is not None:
                with contextlib.suppress(FileNotFoundError):
                    os.unlink(tmp)
            raise


def _write_data(fh, data: bytes) -> None:
    """Write ``data`` to the open temporary file (a separate function so tests can slow it)."""
    fh.write(data)


def _link_target(path: str) -> str:
    """The file a write to ``path`` should replace: ``path`` itself, or the file a symbolic link
    (or a chain of them) finally points to."""
    if not os.path.islink(path):
        return path
    target = os.path.realpath(path)
    if os.path.islink(target):
        raise OSError(f"cannot write {path!r}: symbolic link loop")
    return target


class _Terminated(BaseException):
    """SIGTERM arrived during an atomic write (raised so that the temporary file is removed)."""


def _raise_terminated(signum, frame):
    raise _Terminated


@contextlib.contextmanager
def _sigterm_raises():
    """While active, SIGTERM raises :class:`_Terminated` instead of killing the process at once;
    on the way out the signal is re-sent with its default action, so the process still dies of
    it. Only from the main thread, and only while SIGTERM has its default action (a handler
    the program installed, or SIG_IGN, is left alone)."""
    if (threading.current_thread() is not threading.main_thread()
            or signal.getsignal(signal.SIGTERM) is not signal.SIG_DFL):
        yield
        return
    signal.signal(signal.SIGTERM, _raise_terminated)
    try:
        yield
    except _Terminated:
        signal.signal(signal.SIGTERM, signal.SIG_DFL)
        os.kill(os.getpid(), signal.SIGTERM)
        raise                                           # not reached: the default action kills
    finally:
        signal.signal(signal.SIGTERM, signal.SIG_DFL)


@contextlib.contextmanager
def _signals_blocked():
    """SIGINT and SIGTERM held back (delivered on exit) where the platform allows it."""
    if not hasattr(signal, "pthread_sigmask"):
        yield
        return
    held = {signal.SIGINT, signal.SIGTERM}
    previous = signal.pthread_sigmask(signal.SIG_BLOCK, held)
    try:
        yield
    finally:
        signal.pthread_sigmask(signal.SIG_SETMASK, previous)
