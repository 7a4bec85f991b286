"""Atomic writes: permissions kept, symbolic links written through, no temporary file left behind
on an exception or a signal."""
import os
import signal
import subprocess
import sys
import textwrap

import pytest

from qubo_bnn import io
from qubo_bnn.io import atomic_write_bytes, atomic_write_text, check_output_path


def _mode(path):
    return os.stat(path).st_mode & 0o7777


def test_existing_file_keeps_its_permissions_and_new_files_follow_the_umask(tmp_path):
    secret = tmp_path / "model.json"
    secret.write_text("old")
    os.chmod(secret, 0o600)
    atomic_write_text(secret, "new")
    assert secret.read_text() == "new" and _mode(secret) == 0o600
    os.chmod(secret, 0o640)
    atomic_write_text(secret, "newer")
    assert secret.read_text() == "newer" and _mode(secret) == 0o640
    old = os.umask(0o027)
    try:
        atomic_write_text(tmp_path / "fresh.json", "x")
    finally:
        os.umask(old)
    assert _mode(tmp_path / "fresh.json") == 0o640
    assert sorted(os.listdir(tmp_path)) == ["fresh.json", "model.json"]


@pytest.mark.parametrize("relative", [False, True])
def test_symbolic_link_is_written_through_to_its_target(tmp_path, relative):
    (tmp_path / "store").mkdir()
    (tmp_path / "links").mkdir()
    target = tmp_path / "store" / "model.json"
    target.write_text("old")
    os.chmod(target, 0o600)
    link = tmp_path / "links" / "current.json"
    link.symlink_to("../store/model.json" if relative else target)
    chained = tmp_path / "links" / "alias.json"          # a link to a link
    chained.symlink_to(link)
    check_output_path(chained)
    atomic_write_text(chained, "new")
    assert link.is_symlink() and chained.is_symlink() and os.readlink(chained) == str(link)
    assert target.read_text() == "new" and _mode(target) == 0o600
    assert sorted(os.listdir(tmp_path / "store")) == ["model.json"]          # no temporary file
    assert sorted(os.listdir(tmp_path / "links")) == ["alias.json", "current.json"]


def test_dangling_link_creates_its_target_and_a_loop_is_refused(tmp_path):
    link = tmp_path / "out.json"
    link.symlink_to(tmp_path / "real.json")
    atomic_write_text(link, "x")
    assert link.is_symlink() and (tmp_path / "real.json").read_text() == "x"
    loop = tmp_path / "loop.json"
    loop.symlink_to(loop)
    with pytest.raises(OSError, match="symbolic link loop"):
        atomic_write_text(loop, "x")
    assert loop.is_symlink()
    missing_dir = tmp_path / "to-nowhere.json"
    missing_dir.symlink_to(tmp_path / "no-such-dir" / "f.json")
    with pytest.raises(FileNotFoundError, match="does not exist"):
        check_output_path(missing_dir)


def test_exception_during_the_write_leaves_the_old_file_and_no_temporary(tmp_path, monkeypatch):
    out = tmp_path / "r.json"
    out.write_text("old")

    def fail(fh, data):
        fh.write(data[:3])
        raise OSError("disk full")

    monkeypatch.setattr(io, "_write_data", fail)
    for exc in (OSError, KeyboardInterrupt):
        if exc is KeyboardInterrupt:
            def fail(fh, data):            # noqa: F811 (an interrupt, not an error)
                raise KeyboardInterrupt
            monkeypatch.setattr(io, "_write_data", fail)
        with pytest.raises(exc):
            atomic_write_bytes(out, b"new content")
        assert os.listdir(tmp_path) == ["r.json"] and out.read_text() == "old"


CHILD = textwrap.dedent("""
    import signal, sys, time
    from qubo_bnn import io

    def slow(fh, data):                        # half written, then stuck: a slow disk
        fh.write(data[: len(data) // 2])
        fh.flush()
        print("started", flush=True)
        time.sleep(600)
        fh.write(data[len(data) // 2:])

    signal.signal(signal.SIGINT, signal.default_int_handler)   # CI may start us with it ignored
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    io._write_data = slow
    io.atomic_write_bytes(sys.argv[1], b"new" * 100000)
    print("finished", flush=True)
""")


@pytest.mark.skipif(os.name != "posix", reason="sends POSIX signals")
@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT])
def test_signal_during_a_save_leaves_no_temporary_file(tmp_path, signum):
    out = tmp_path / "model.json"
    out.write_text("old")
    child = subprocess.Popen([sys.executable, "-c", CHILD, str(out)], stdout=subprocess.PIPE,
                             stderr=subprocess.PIPE, text=True)
    try:
        assert child.stdout.readline() == "started\n"      # blocks until the write is under way
        assert any(name.startswith(".tmp-") for name in os.listdir(tmp_path))
        child.send_signal(signum)
        stdout, stderr = child.communicate(timeout=300)    # generous: only the outcome is checked
    finally:
        if child.poll() is None:
            child.kill()
            child.communicate()
    assert "finished" not in stdout
    # SIGTERM still kills the process by the signal; Ctrl-C ends it by KeyboardInterrupt
    assert child.returncode == -signum, stderr
    assert os.listdir(tmp_path) == ["model.json"] and out.read_text() == "old"
