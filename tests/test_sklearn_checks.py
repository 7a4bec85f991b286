"""scikit-learn's estimator checks on BNNClassifier.

The network's inputs are bits, so ``fit``/``predict`` refuse any other values with a clear
error; the checks that feed continuous, negative, object or one-feature random data are expected
to fail for that reason alone (listed below). Every other check must pass.
"""
from sklearn.utils.estimator_checks import parametrize_with_checks

from qubo_bnn import BNNClassifier

BINARY_INPUT = ("the estimator accepts binary X only ({0, 1} or {-1, +1}) and refuses the "
                "continuous random data this check feeds it")
EXPECTED_FAILED = {name: BINARY_INPUT for name in (
    "check_classifier_data_not_an_array", "check_classifiers_classes", "check_classifiers_train",
    "check_dict_unchanged", "check_dont_overwrite_parameters", "check_dtype_object",
    "check_estimators_dtypes", "check_estimators_fit_returns_self", "check_estimators_nan_inf",
    "check_estimators_overwrite_params", "check_estimators_pickle", "check_f_contiguous_array_estimator",
    "check_fit2d_1feature", "check_fit2d_predict1d", "check_fit_check_is_fitted", "check_fit_idempotent",
    "check_fit_score_takes_y", "check_methods_sample_order_invariance", "check_methods_subset_invariance",
    "check_n_features_in", "check_n_features_in_after_fitting", "check_pipeline_consistency",
    "check_positive_only_tag_during_fit", "check_readonly_memmap_input", "check_supervised_y_2d",
)}


@parametrize_with_checks(
    [BNNClassifier(hidden_layer_sizes=(2,), sampler_params={"num_reads": 2, "num_sweeps": 20}, random_state=0)],
    expected_failed_checks=lambda estimator: EXPECTED_FAILED)
def test_sklearn_estimator_checks(estimator, check):
    check(estimator)
