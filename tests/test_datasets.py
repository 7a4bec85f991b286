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


def _csv(tmp_path, text, name="d.csv", encoding="utf-8"):
    path = tmp_path / name
    path.write_bytes(text.encode(encoding))
    return path


def _error(path):
    with pytest.raises(ValueError) as info:
        load_dataset(path)
    message = str(info.value)
    assert "\n" not in message and message.startswith(f"{path}"), message
    return message


def test_csv_header_rule_and_byte_order_mark(tmp_path):
    X, y = load_dataset(_csv(tmp_path, "\ufeff0,1,1\n1,0,0\n"))          # no header: keep row 1
    assert X.tolist() == [[0, 1], [1, 0]] and y.tolist() == [1, 0]
    X, y = load_dataset(_csv(tmp_path, "\ufeffx1,x2,y\r\n\r\n1,1,b\r\n0,0,a\r\n"))   # header
    assert X.tolist() == [[1, 1], [0, 0]] and y.tolist() == ["b", "a"]
    X, y = load_dataset(_csv(tmp_path, "x1,x2,1\n1,-1,2.5\n-1,1,3\n"))    # numeric labels
    assert X.tolist() == [[1, 0], [0, 1]] and y.tolist() == [2.5, 3.0]


@pytest.mark.parametrize("text, expected", [
    ("0,l,1\n1,0,0\n1,1,1\n", "line 1, column 2: non-numeric feature value 'l'"),   # typo, row 1
    ("a,b,y\n\n0,1,x\n\n1,,z\n", "line 5, column 2: non-numeric feature value ''"),
    ("0,1,cat\n1,0,\n", "line 2, column 3: blank label"),
    ("a,b,y\n0,1,cat\n1,0,  \n", "line 3, column 3: blank label"),
    ("a,b,y\n0,1,cat\n1,dog\n", "line 3: 2 columns, but line 1 has 3"),
    ("a,b,y\n0,1\n", "line 2: 2 columns, but line 1 has 3"),
    ("0\n1\n", "line 1: 1 column; a row needs features"),
    ("a,b,y\n", "no data rows"),
    ("", "no data rows"),
    ("a,b,y\n0,HUGE,x\n", "line 2: unreadable CSV (field larger than field limit"),  # 200,000 chars
])
def test_csv_faults_are_one_line_errors_naming_the_place(tmp_path, text, expected):
    assert expected in _error(_csv(tmp_path, text.replace("HUGE", "1" * 200_000)))


def test_csv_encoding_and_size_are_checked(tmp_path, monkeypatch):
    import qubo_bnn.datasets as datasets

    assert "not UTF-8 text" in _error(_csv(tmp_path, "a,b,y\n0,1,caf\xe9\n", encoding="latin-1"))
    path = _csv(tmp_path, "0,1,a\n1,0,b\n")
    monkeypatch.setattr(datasets, "MAX_CSV_BYTES", 8)
    assert "12 bytes exceeds the limit of 8 bytes" in _error(path)
