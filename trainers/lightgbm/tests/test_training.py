"""The worker's logic without Temporal or MinIO: every label kind trains, exports ONNX that onnxruntime
scores like LightGBM (string categoricals in, unseen and missing categories included), the seed makes
training reproducible, and bad input is refused with the sluice failure type that names it.
Run: `.venv-lightgbm/bin/python -m unittest discover -s trainers/lightgbm/tests -t trainers/lightgbm`.
"""

from __future__ import annotations

import json
import unittest

import numpy as np
import onnx
import onnxruntime as ort
import pyarrow as pa

from sluice_lightgbm import onnx_export, training
from sluice_lightgbm.contract import ContractError, parse_params, parse_request, parse_tables

CITIES = ["ORD", "ATL", "DFW", "LAX", "SEA"]


def flights(rows: int, seed: int) -> pa.Table:
    rng = np.random.default_rng(seed)
    distance = rng.uniform(100, 2500, rows).astype(np.float32)
    distance[rng.random(rows) < 0.1] = np.nan
    origin = rng.choice(CITIES + [""], rows).astype(object)
    origin[rng.random(rows) < 0.05] = None
    busy = np.isin(origin, ["ORD", "ATL"])
    minutes = np.nan_to_num(distance, nan=800) / 100 + busy * 20 + rng.normal(0, 5, rows)
    return pa.table(
        {
            "distance": distance,
            "origin": pa.array(list(origin), type=pa.string()),
            "late": (minutes > 25).astype(np.int32),
            "minutes": minutes,
            "band": np.array(["early", "on-time", "late"])[np.digitize(minutes, [10, 25])],
        }
    )


def tables(label_column: str, label: dict | None = None):
    raw = {
        "datasetVersion": "d" * 64,
        "featureDefinitionHash": "f" * 64,
        "splits": {"train": {"key": "t.parquet", "rows": 1}, "validation": {"key": "v.parquet", "rows": 1}, "test": {"key": "x", "rows": 1}},
        "featureNames": {"numeric": ["distance"], "categorical": ["origin"]},
        "labelColumn": label_column,
        **({"label": label} if label else {}),
    }
    return parse_tables(raw)


def fit(t, seed: int = 7):
    train, valid = flights(4000, 1), flights(1500, 2)
    vocab = training.vocabulary(train, t)
    train_m, valid_m = training.matrix(train, t, vocab), training.matrix(valid, t, vocab)
    beats: list[dict] = []
    booster = training.train(t, parse_params({"numTrees": 30, "numLeaves": 15, "minDataInLeaf": 20}), seed, train_m, valid_m, beats.append)
    return booster, vocab, valid_m, beats


class ExportTest(unittest.TestCase):
    def export(self, t):
        booster, vocab, valid_m, beats = fit(t)
        model = onnx_export.to_onnx(booster, t, vocab, {"sluice.model_name": "m", "sluice.model_version": "0"})
        expected = training.predict(booster, valid_m, t.task)
        return model, valid_m, expected, beats

    def test_binary_probability_matches_lightgbm_and_heartbeats_every_iteration(self):
        t = tables("late")
        model, valid_m, expected, beats = self.export(t)
        self.assertLess(onnx_export.check_parity(model, valid_m, expected, t.task), 1e-6)
        self.assertEqual([b["iteration"] for b in beats], list(range(1, len(beats) + 1)))
        self.assertIn("validation_binary_logloss", beats[0])
        session = ort.InferenceSession(model)
        self.assertEqual([(i.name, i.type) for i in session.get_inputs()], [("numeric", "tensor(float)"), ("categorical", "tensor(string)")])
        self.assertEqual([(o.name, o.shape[1]) for o in session.get_outputs()], [("probability", 1)])
        # An unseen category scores as a missing one, as LightGBM treats a NaN code.
        numeric = np.array([[900.0], [900.0]], dtype=np.float32)
        (unseen,) = session.run(None, {"numeric": numeric, "categorical": np.array([["XYZ"], [""]], dtype=object)})
        self.assertEqual(unseen[0, 0], unseen[1, 0])

    def test_regression_value_is_in_label_units_with_log1p_undone(self):
        t = tables("minutes", {"kind": "regression", "transform": {"clip": {"min": 0, "max": 60}, "log1p": True}})
        model, valid_m, expected, _ = self.export(t)
        self.assertLess(onnx_export.check_parity(model, valid_m, expected, t.task), 1e-5)
        self.assertTrue(5 < float(np.mean(expected)) < 40, np.mean(expected))
        props = {p.key: p.value for p in onnx.load_from_string(model).metadata_props}
        self.assertEqual(props["sluice.label_kind"], "regression")
        self.assertEqual(json.loads(props["sluice.label_transform"]), {"clip": {"min": 0, "max": 60}, "log1p": True})

    def test_multiclass_probabilities_follow_the_declared_class_order(self):
        classes = ["early", "on-time", "late"]
        t = tables("band", {"kind": "multiclass", "classes": classes})
        model, valid_m, expected, _ = self.export(t)
        self.assertEqual(expected.shape, (valid_m.rows, 3))
        self.assertLess(onnx_export.check_parity(model, valid_m, expected, t.task), 1e-6)
        props = {p.key: p.value for p in onnx.load_from_string(model).metadata_props}
        self.assertEqual(json.loads(props["sluice.classes"]), classes)
        # Class k is the k-th declared class: the most probable class is right most of the time.
        truth = valid_m.label.astype(int)
        self.assertGreater(float(np.mean(np.argmax(expected, axis=1) == truth)), 0.5)

    def test_a_parity_gap_is_refused_with_its_failure_type(self):
        t = tables("late")
        model, valid_m, expected, _ = self.export(t)
        with self.assertRaises(ContractError) as caught:
            onnx_export.check_parity(model, valid_m, expected + 0.01, t.task)
        self.assertEqual(caught.exception.kind, "OnnxParityMismatch")


class SeedTest(unittest.TestCase):
    def test_the_same_seed_gives_the_same_trees_and_another_seed_other_trees(self):
        t = tables("late")
        first, second, other = fit(t, 7)[0], fit(t, 7)[0], fit(t, 8)[0]
        self.assertEqual(first.model_to_string(), second.model_to_string())
        self.assertNotEqual(first.model_to_string(), other.model_to_string())


class ContractTest(unittest.TestCase):
    def test_bad_hyperparameters_are_named(self):
        with self.assertRaises(ContractError) as caught:
            parse_params({"numTrees": 0, "learningRate": "fast", "depth": 3})
        self.assertEqual(caught.exception.kind, "InvalidInput")
        message = str(caught.exception)
        for name in ("numTrees", "learningRate", "'depth'"):
            self.assertIn(name, message)

    def test_a_request_without_tables_is_refused(self):
        with self.assertRaises(ContractError) as caught:
            parse_request({"modelName": "m", "runId": "r", "seed": 1, "trainer": {"kind": "external", "name": "lightgbm", "taskQueue": "q"}})
        self.assertIn("tables", str(caught.exception))

    def test_a_binary_label_outside_0_1_is_training_data_invalid(self):
        t = tables("minutes")
        table = flights(100, 3)
        with self.assertRaises(ContractError) as caught:
            training.matrix(table, t, training.vocabulary(table, t))
        self.assertEqual(caught.exception.kind, "TrainingDataInvalid")

    def test_a_missing_feature_column_is_named(self):
        t = tables("late")
        table = flights(100, 3).drop_columns(["distance"])
        with self.assertRaises(ContractError) as caught:
            training.matrix(table, t, training.vocabulary(table, t))
        self.assertIn("'distance'", str(caught.exception))


if __name__ == "__main__":
    unittest.main()
