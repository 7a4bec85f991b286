import numpy as np
import pytest

from qubo_bnn.datasets import bars_and_stripes, binarise_digits, load_dataset, load_digits_task


def test_digits_task_is_binary_disjoint_and_reproducible():
    a = load_digits_task(classes=(3, 8), n_train=50, n_test=40, seed=3)
    b = load_digits_task(classes=(3, 8), n_train=50, n_test=40, seed=3)
    for u, v in zip(a, b):
        assert (u == v).all()
    Xtr, Xte, ytr, yte = a
    assert Xtr.shape == (50, 16) and Xte.shape == (40, 16)
    assert set(np.unique(Xtr)) <= {0, 1} and set(np.unique(ytr)) == {3, 8}
    full = load_digits_task(classes=None, pool=False, n_train=100, n_test=50)
    assert full[0].shape == (100, 64) and len(np.unique(full[2])) == 10


def test_pooling_is_block_mean():
    img = np.zeros((1, 8, 8))
    img[0, :2, :2] = 16
    img[0, 0, 2] = 16
    bits = binarise_digits(img, pool=True, threshold=8).reshape(4, 4)
    assert bits[0, 0] == 1 and bits[0, 1] == 0 and bits.sum() == 1


def test_bars_and_stripes():
    X, y = bars_and_stripes(3)
    imgs = X.reshape(-1, 3, 3)
    for img, label in zip(imgs, y):
        if label == 0:
            assert (img == img[0:1, :]).all()  # bars: rows identical
        else:
            assert (img == img[:, 0:1]).all()


def test_load_user_files(tmp_path):
    X = np.array([[0, 1, 1], [1, 0, 0]])
    y = np.array([1, 0])
    np.savez(tmp_path / "d.npz", X=X, y=y)
    X2, y2 = load_dataset(tmp_path / "d.npz")
    assert (X2 == X).all() and (y2 == y).all()
    (tmp_path / "d.csv").write_text("a,b,c,label\n0,1,1,cat\n1,0,0,dog\n")
    X3, y3 = load_dataset(tmp_path / "d.csv")
    assert (X3 == X).all() and y3.tolist() == ["cat", "dog"]


def test_load_errors(tmp_path):
    with pytest.raises(FileNotFoundError):
        load_dataset(tmp_path / "none.npz")
    (tmp_path / "x.txt").write_text("1")
    with pytest.raises(ValueError, match="unsupported"):
        load_dataset(tmp_path / "x.txt")
    np.savez(tmp_path / "bad.npz", X=np.ones((2, 2)))
    with pytest.raises(ValueError, match="'X' and 'y'"):
        load_dataset(tmp_path / "bad.npz")
    (tmp_path / "c.npz").write_bytes(b"garbage")
    with pytest.raises(ValueError, match="not a readable"):
        load_dataset(tmp_path / "c.npz")
    (tmp_path / "n.csv").write_text("0,0.5,1\n1,1,0\n")
    with pytest.raises(ValueError, match="binary"):
        load_dataset(tmp_path / "n.csv")
    with pytest.raises(ValueError, match="do not fit"):
        load_digits_task(classes=(3, 8), n_train=1000)
