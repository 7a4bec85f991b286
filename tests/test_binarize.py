"""ThresholdBinarizer against hand-made examples, numpy quantiles and a plain loop over ``x > t``."""
import numpy as np
import pandas as pd
import pytest

from qubo_bnn.binarize import MAX_THRESHOLDS, ThresholdBinarizer, make_binarizer


def loop_bits(X, features, thresholds):
    """The rule, written out: bit k of row i is 1 exactly when X[i, features[k]] > thresholds[k]."""
    X = np.asarray(X, dtype=float)
    out = np.zeros((len(X), len(features)), dtype=np.uint8)
    for i in range(len(X)):
        for k, (j, t) in enumerate(zip(features, thresholds)):
            out[i, k] = 1 if X[i, j] > t else 0
    return out


@pytest.mark.parametrize("method, k, column, expected", [
    ("median", 1, [3.0, 1.0, 2.0], [2.0]),
    ("median", 1, [1.0, 2.0, 3.0, 10.0], [2.5]),
    ("median", 1, [0.0, 0.0, 0.0, 1.0], [0.0]),          # 0 | 1 split at the median 0
    ("median", 1, [0.0, 1.0, 1.0, 1.0], []),             # median 1: nothing exceeds it, dropped
    ("mean", 1, [0.0, 1.0, 1.0, 1.0], [0.75]),
    ("mean", 1, [1.0, 2.0, 3.0, 10.0], [4.0]),
    ("uniform", 3, [4.0, 0.0, 1.0], [1.0, 2.0, 3.0]),
    ("uniform", 1, [-2.0, 2.0], [0.0]),
    ("quantile", 3, [0.0, 1.0, 2.0, 3.0, 4.0], [1.0, 2.0, 3.0]),
    ("quantile", 3, [0.0, 0.0, 0.0, 0.0, 1.0], [0.0]),   # three equal quantiles merged into one
    ("quantile", 2, [5.0, 5.0, 5.0], []),                # constant: a dead input
    ("uniform", 4, [5.0, 5.0], []),
])
def test_thresholds_of_hand_made_columns(method, k, column, expected):
    X = np.c_[np.arange(len(column), dtype=float), column]   # column 0 keeps the fit alive
    b = ThresholdBinarizer(method, n_thresholds=k).fit(X)
    assert b.thresholds_[b.features_ == 1].tolist() == pytest.approx(expected)
    assert b.thresholds_.dtype == np.float64 and b.features_.dtype == np.int64


def test_quantile_thresholds_match_numpy_quantiles_and_split_the_training_data():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(200, 3)) * [1.0, 10.0, 0.1]
    b = ThresholdBinarizer("quantile", n_thresholds=4).fit(X)
    assert b.features_.tolist() == [0] * 4 + [1] * 4 + [2] * 4
    for j in range(3):
        expected = np.quantile(X[:, j], [0.2, 0.4, 0.6, 0.8])
        np.testing.assert_allclose(b.thresholds_[b.features_ == j], expected)
    bits = b.transform(X)
    # each quantile threshold sets the bit for the samples above it: 80 %, 60 %, 40 %, 20 %
    np.testing.assert_array_equal(bits.sum(axis=0), [160, 120, 80, 40] * 3)
    np.testing.assert_array_equal(bits, loop_bits(X, b.features_, b.thresholds_))


def test_transform_is_x_greater_than_threshold_on_new_data_thermometer_code():
    rng = np.random.default_rng(1)
    X_train, X_new = rng.uniform(-3, 3, size=(40, 4)), rng.uniform(-5, 5, size=(25, 4))
    X_new[0, :] = ThresholdBinarizer("uniform", 3).fit(X_train).thresholds_[[0, 3, 6, 9]]  # equal: 0
    b = ThresholdBinarizer("uniform", n_thresholds=3).fit(X_train)
    bits = b.transform(X_new)
    assert bits.dtype == np.uint8 and bits.shape == (25, 12)
    np.testing.assert_array_equal(bits, loop_bits(X_new, b.features_, b.thresholds_))
    assert bits[0, [0, 3, 6, 9]].tolist() == [0, 0, 0, 0]
    per_feature = bits.reshape(25, 4, 3)
    assert (np.diff(per_feature.astype(int), axis=2) <= 0).all()   # thermometer: 1s then 0s


def test_thresholds_come_from_the_training_data_only():
    train = np.array([[0.0], [1.0], [2.0], [3.0]])
    b = ThresholdBinarizer().fit(train)
    b.transform(np.array([[100.0], [200.0], [300.0]]))
    assert b.thresholds_.tolist() == [1.5]


def test_constant_features_get_no_bit_and_all_constant_is_a_one_line_error():
    X = np.array([[1.0, 7.0, 0.0], [1.0, 8.0, 0.0], [1.0, 9.0, 0.0]])
    b = ThresholdBinarizer().fit(X)
    assert b.features_.tolist() == [1] and b.transform(X).shape == (3, 1)
    assert b.get_feature_names_out().tolist() == ["x1>8.0"]
    with pytest.raises(ValueError, match=r"^no threshold splits the training data: .* its 3 samples;[^\n]*$"):
        ThresholdBinarizer().fit(X[:, [0, 2]])


def test_a_refused_fit_leaves_the_earlier_fit_intact():
    good = np.array([[0.0, 1.0], [2.0, 3.0]])
    b = ThresholdBinarizer().fit(good)
    before = (b.features_.copy(), b.thresholds_.copy(), b.n_features_in_)
    for bad in (np.array([[np.nan, 1.0], [2.0, 3.0]]), np.ones((2, 3)), np.zeros((0, 2))):
        with pytest.raises(ValueError):
            b.fit(bad)
        assert (b.features_.tolist(), b.thresholds_.tolist(), b.n_features_in_) == \
            (before[0].tolist(), before[1].tolist(), before[2])


@pytest.mark.parametrize("params, message", [
    ({"method": "median", "n_thresholds": 2}, "set n_thresholds=1"),
    ({"method": "mean", "n_thresholds": 3}, "set n_thresholds=1"),
    ({"method": "kmeans"}, "'method' parameter"),
    ({"method": "quantile", "n_thresholds": 0}, "'n_thresholds' parameter"),
    ({"method": "uniform", "n_thresholds": MAX_THRESHOLDS + 1}, "'n_thresholds' parameter"),
])
def test_bad_parameters_are_one_line_errors_at_fit(params, message):
    with pytest.raises(ValueError, match=message) as info:
        ThresholdBinarizer(**params).fit(np.array([[0.0], [1.0]]))
    assert "\n" not in str(info.value)


def test_dataframe_names_are_recorded_and_checked():
    df = pd.DataFrame({"age": [20.0, 30.0, 40.0, 50.0], "income": [1.0, 2.0, 3.0, 4.0]})
    b = ThresholdBinarizer("quantile", n_thresholds=1).fit(df)
    assert b.feature_names_in_.tolist() == ["age", "income"]
    assert b.get_feature_names_out().tolist() == ["age>35.0", "income>2.5"]
    np.testing.assert_array_equal(b.transform(df), [[0, 0], [0, 0], [1, 1], [1, 1]])
    with pytest.raises(ValueError, match="feature names.*same order") as info:
        b.transform(df[["income", "age"]])
    assert "\n" not in str(info.value)
    b.fit(df.to_numpy())                 # refitted without names: the stale names go
    assert not hasattr(b, "feature_names_in_")
    assert b.get_feature_names_out().tolist() == ["x0>35.0", "x1>2.5"]


def test_pandas_output_through_set_output():
    df = pd.DataFrame({"a": [0.0, 1.0, 2.0], "b": [5.0, 4.0, 3.0]})
    out = ThresholdBinarizer().set_output(transform="pandas").fit_transform(df)
    assert list(out.columns) == ["a>1.0", "b>4.0"] and out.to_numpy().tolist() == [[0, 1], [0, 0], [1, 0]]


def test_from_thresholds_rebuilds_the_same_transform():
    rng = np.random.default_rng(2)
    X = pd.DataFrame(rng.normal(size=(30, 3)), columns=["p", "q", "r"])
    fitted = ThresholdBinarizer("quantile", n_thresholds=3).fit(X)
    rebuilt = ThresholdBinarizer.from_thresholds(fitted.features_.tolist(), fitted.thresholds_.tolist(), 3,
                                                 feature_names_in=["p", "q", "r"], method="quantile",
                                                 n_thresholds=3)
    X_new = pd.DataFrame(rng.normal(size=(10, 3)), columns=["p", "q", "r"])
    np.testing.assert_array_equal(rebuilt.transform(X_new), fitted.transform(X_new))
    assert rebuilt.get_feature_names_out().tolist() == fitted.get_feature_names_out().tolist()
    assert rebuilt.get_params() == fitted.get_params()
    with pytest.raises(ValueError, match="feature names"):
        rebuilt.transform(X_new[["q", "p", "r"]])


@pytest.mark.parametrize("features, thresholds, n_in, kwargs, message", [
    ([0, 1], [0.5], 2, {}, "same, non-zero length"),
    ([], [], 2, {}, "same, non-zero length"),
    ([[0]], [[0.5]], 2, {}, "1-D"),
    ([0, 2], [0.5, 0.5], 2, {}, r"indices in \[0, 1\]"),
    ([-1], [0.5], 2, {}, r"indices in \[0, 1\]"),
    ([0.5], [0.5], 2, {}, "integer feature indices"),
    (["a"], [0.5], 2, {}, "integer feature indices"),
    ([0], [np.nan], 2, {}, "finite"),
    ([0], ["x"], 2, {}, "numeric"),
    ([1, 0], [0.5, 0.5], 2, {}, "ascending"),
    ([0, 0], [0.5, 0.5], 2, {}, "strictly increasing"),
    ([0, 0], [0.7, 0.5], 2, {}, "strictly increasing"),
    ([0], [0.5], 0, {}, "positive integer"),
    ([0], [0.5], True, {}, "positive integer"),
    ([0], [0.5], 2, {"feature_names_in": ["a"]}, "2 strings"),
    ([0], [0.5], 2, {"feature_names_in": ["a", 3]}, "2 strings"),
    ([0], [0.5], 2, {"method": "median", "n_thresholds": -1}, "n_thresholds"),
    ([0] * (MAX_THRESHOLDS + 1), np.arange(MAX_THRESHOLDS + 1.0), 1, {}, "at most"),
])
def test_from_thresholds_refuses_bad_arrays_in_one_line(features, thresholds, n_in, kwargs, message):
    with pytest.raises(ValueError, match=message) as info:
        ThresholdBinarizer.from_thresholds(features, thresholds, n_in, **kwargs)
    assert "\n" not in str(info.value)


@pytest.mark.parametrize("spec, method, k", [
    ("median", "median", 1), ("mean", "mean", 1), ("quantile:3", "quantile", 3), ("uniform:1", "uniform", 1),
    (f"uniform:{MAX_THRESHOLDS}", "uniform", MAX_THRESHOLDS),
])
def test_make_binarizer_accepts_the_documented_forms(spec, method, k):
    b = make_binarizer(spec)
    assert isinstance(b, ThresholdBinarizer) and (b.method, b.n_thresholds) == (method, k)


@pytest.mark.parametrize("spec", ["quantile", "uniform:", "quantile:0", "quantile:x", "quantile:-2",
                                  f"uniform:{MAX_THRESHOLDS + 1}", "median:1", "Median", "kmeans:3",
                                  "quantile:\u00b2", "quantile:3:4", "", 3, None])
def test_make_binarizer_refuses_anything_else_naming_the_accepted_forms(spec):
    with pytest.raises(ValueError, match="quantile:K") as info:
        make_binarizer(spec)
    assert "\n" not in str(info.value)


def test_transform_in_blocks_gives_the_same_bits(monkeypatch):
    import qubo_bnn.binarize as binarize

    rng = np.random.default_rng(3)
    X = rng.normal(size=(23, 2))
    b = ThresholdBinarizer("quantile", n_thresholds=3).fit(X)
    monkeypatch.setattr(binarize, "TRANSFORM_BLOCK", 7)      # 2 rows of 6 bits per block
    np.testing.assert_array_equal(b.transform(X), loop_bits(X, b.features_, b.thresholds_))
