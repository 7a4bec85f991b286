"""Boundary checks: feature names recorded at fit and enforced at predict, old callers unchanged."""
import warnings

import numpy as np
import pandas as pd
import pytest
from sklearn.base import BaseEstimator

from qubo_bnn.validation import check_prediction_data, check_training_data, one_line


class Recorder(BaseEstimator):
    """A bare estimator: what check_training_data records is all it has."""


@pytest.fixture
def frame():
    return pd.DataFrame({"a": [0, 1, 1, 0], "b": [1, 1, 0, 0], "c": [0, 1, 0, 1]})


def test_fit_records_feature_names_of_a_dataframe(frame):
    est = Recorder()
    Xb, y = check_training_data(frame, ["u", "v", "u", "v"], estimator=est)
    assert est.n_features_in_ == 3 and est.feature_names_in_.tolist() == ["a", "b", "c"]
    np.testing.assert_array_equal(Xb, [[0, 1, 0], [1, 1, 1], [1, 0, 0], [0, 0, 1]])
    assert Xb.dtype == np.uint8 and y.tolist() == ["u", "v", "u", "v"]


def test_fit_on_an_array_records_no_names_and_drops_stale_ones(frame):
    est = Recorder()
    check_training_data(frame, [0, 1, 0, 1], estimator=est)
    check_training_data(frame.to_numpy()[:, :2], [0, 1, 0, 1], estimator=est)
    assert est.n_features_in_ == 2 and not hasattr(est, "feature_names_in_")


@pytest.mark.parametrize("X, y", [
    (pd.DataFrame({"p": [0.5, 1.0], "q": [0, 1]}), [0, 1]),     # not binary
    (pd.DataFrame({"p": [0, 1], "q": [0, 1]}), [1, 1]),          # one class
    (pd.DataFrame({"p": [0, 1], "q": [0, 1]}), [0, 1, 0]),       # lengths differ
    (pd.DataFrame({"p": [0, np.nan], "q": [0, 1]}), [0, 1]),     # NaN
])
def test_refused_training_data_leave_the_estimator_as_it_was(frame, X, y):
    est = Recorder()
    check_training_data(frame, [0, 1, 0, 1], estimator=est)
    with pytest.raises(ValueError):
        check_training_data(X, y, estimator=est)
    assert est.n_features_in_ == 3 and est.feature_names_in_.tolist() == ["a", "b", "c"]


def fitted(frame):
    est = Recorder()
    check_training_data(frame, [0, 1, 0, 1], estimator=est)
    return est


def test_predict_accepts_the_fitted_columns(frame):
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        Xb = check_prediction_data(frame.iloc[:2], estimator=fitted(frame))
    np.testing.assert_array_equal(Xb, [[0, 1, 0], [1, 1, 1]])


@pytest.mark.parametrize("columns, message", [
    (["b", "a", "c"], "same order"),                       # reordered: an error, never silent
    (["a", "b", "z"], "unseen at fit time: z"),            # renamed
])
def test_predict_refuses_reordered_or_renamed_columns_in_one_line(frame, columns, message):
    est = fitted(frame)
    X = frame[["b", "a", "c"]] if columns == ["b", "a", "c"] else frame.set_axis(columns, axis=1)
    with pytest.raises(ValueError, match=message) as info:
        check_prediction_data(X, estimator=est)
    assert "\n" not in str(info.value) and "feature names should match" in str(info.value)


def test_predict_warns_like_sklearn_when_names_appear_or_vanish(frame):
    with pytest.warns(UserWarning, match="does not have valid feature names"):
        check_prediction_data(frame.to_numpy(), estimator=fitted(frame))
    unnamed = Recorder()
    check_training_data(frame.to_numpy(), [0, 1, 0, 1], estimator=unnamed)
    with pytest.warns(UserWarning, match="fitted without feature names"):
        check_prediction_data(frame, estimator=unnamed)


def test_predict_with_the_wrong_number_of_features(frame):
    with pytest.raises(ValueError, match="X has 2 features, but Recorder is expecting 3"), \
            pytest.warns(UserWarning, match="does not have valid feature names"):
        check_prediction_data(frame.to_numpy()[:, :2], estimator=fitted(frame))


def test_callers_without_an_estimator_are_unchanged(frame):
    est = Recorder()
    Xb, _ = check_training_data(frame, [0, 1, 0, 1])
    np.testing.assert_array_equal(Xb, [[0, 1, 0], [1, 1, 1], [1, 0, 0], [0, 0, 1]])
    assert not hasattr(est, "n_features_in_")
    np.testing.assert_array_equal(check_prediction_data(frame[["b", "a", "c"]], 3, "BNNClassifier"),
                                  [[1, 0, 0], [1, 1, 1], [0, 1, 0], [0, 0, 1]])
    with pytest.raises(ValueError, match="X has 2 features, but BNNClassifier is expecting 3"):
        check_prediction_data([[0, 1]], 3, "BNNClassifier")
    with pytest.raises(TypeError, match="needs n_features"):
        check_prediction_data([[0, 1]], estimator="BNNClassifier")


def test_one_line_joins_sklearn_style_lists():
    msg = "Names should match.\nUnseen at fit time:\n- c\n- d\nMissing now:\n- a\n"
    assert one_line(msg) == "Names should match; Unseen at fit time: c, d; Missing now: a"
    assert one_line("already one line.") == "already one line"
