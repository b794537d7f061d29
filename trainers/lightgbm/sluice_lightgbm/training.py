"""LightGBM on sluice's feature tables: read the Parquet splits, encode them the way the exported graph
will, train with early stopping on the validation split, and predict what parity is checked against.
Nothing here knows Temporal or the object store.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import lightgbm as lgb
import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from .contract import ContractError, LabelTask, Params, Tables

Progress = Callable[[dict[str, object]], None]


@dataclass(frozen=True)
class Vocabulary:
    """Each categorical feature's training categories in code order: code i is `categories[f][i]`."""

    categories: list[list[str]]


@dataclass(frozen=True)
class Matrix:
    features: np.ndarray  # float64 [N, kNum + kCat]: numerics (float32-exact) then category codes, NaN = missing
    label: np.ndarray  # the training target: 0/1, the transformed value, or the class index
    numeric: np.ndarray  # float32 [N, kNum], what the ONNX model is fed
    categorical: np.ndarray  # object (str) [N, kCat], what the ONNX model is fed

    @property
    def rows(self) -> int:
        return int(self.features.shape[0])


def read_split(paths: Sequence[str]) -> pa.Table:
    # Files in order, rows in order: the split's event order, which early stopping does not need but
    # a reader of the model's lineage may.
    return pa.concat_tables([pq.read_table(p) for p in paths], promote_options="permissive")


def _column(table: pa.Table, name: str) -> pa.ChunkedArray:
    if name not in table.column_names:
        raise ContractError("TrainingDataInvalid", f"feature table has no column {name!r} (it has {', '.join(table.column_names)})")
    return table.column(name)


def vocabulary(table: pa.Table, tables: Tables) -> Vocabulary:
    categories = []
    for name in tables.categorical:
        values = _column(table, name).cast(pa.string()).unique().to_pylist()
        categories.append(sorted(v for v in values if v))
    return Vocabulary(categories)


def _label(table: pa.Table, tables: Tables) -> np.ndarray:
    column = _column(table, tables.label_column)
    if column.null_count:
        raise ContractError("TrainingDataInvalid", f"label column {tables.label_column!r} has {column.null_count} missing values")
    task = tables.task
    if task.kind == "multiclass":
        index = {c: i for i, c in enumerate(task.classes)}
        values = column.cast(pa.string()).to_pylist()
        unknown = sorted({v for v in values if v not in index})
        if unknown:
            raise ContractError("TrainingDataInvalid", f"label values {unknown[:5]} are not among the classes {list(task.classes)}")
        return np.array([index[v] for v in values], dtype=np.float64)
    y = column.cast(pa.float64()).to_numpy()
    if task.kind == "binary":
        bad = ~np.isin(y, (0.0, 1.0))
        if bad.any():
            raise ContractError("TrainingDataInvalid", f"binary label {tables.label_column!r} holds {y[bad][0]!r}; expected 0 or 1")
        return y
    if not np.isfinite(y).all():
        raise ContractError("TrainingDataInvalid", f"regression label {tables.label_column!r} has non-finite values")
    return transform_label(y, task)


def transform_label(y: np.ndarray, task: LabelTask) -> np.ndarray:
    clipped = np.clip(y, task.clip_min, task.clip_max)
    return np.log1p(clipped) if task.log1p else clipped


def matrix(table: pa.Table, tables: Tables, vocab: Vocabulary) -> Matrix:
    rows = table.num_rows
    numeric = np.empty((rows, len(tables.numeric)), dtype=np.float32)
    for j, name in enumerate(tables.numeric):
        numeric[:, j] = _column(table, name).cast(pa.float32()).to_numpy(zero_copy_only=False)
    categorical = np.empty((rows, len(tables.categorical)), dtype=object)
    codes = np.empty((rows, len(tables.categorical)), dtype=np.float64)
    for j, name in enumerate(tables.categorical):
        values = _column(table, name).cast(pa.string()).fill_null("")
        categorical[:, j] = values.to_numpy(zero_copy_only=False)
        # Unseen and missing ('') categories are both missing to LightGBM, as they are in the graph;
        # index_in does the lookup in Arrow, a per-row Python dict lookup was the slow part on millions of rows.
        index = pc.index_in(values, value_set=pa.array(vocab.categories[j], type=pa.string()))
        codes[:, j] = index.cast(pa.float64()).to_numpy(zero_copy_only=False)
    # Trained on the float32 values the ONNX model receives, so no row can fall between a float64
    # threshold and its float32 rounding on one side and not the other.
    features = np.hstack([numeric.astype(np.float64), codes])
    return Matrix(features=features, label=_label(table, tables), numeric=numeric, categorical=categorical)


def lgb_params(task: LabelTask, params: Params, seed: int) -> dict[str, object]:
    objective = {"binary": {"objective": "binary"}, "regression": {"objective": "regression"}}.get(
        task.kind, {"objective": "multiclass", "num_class": len(task.classes)}
    )
    return {
        **objective,
        "learning_rate": params.learning_rate,
        "num_leaves": params.num_leaves,
        "max_depth": params.max_depth,
        "min_data_in_leaf": params.min_data_in_leaf,
        "lambda_l2": params.lambda_l2,
        "bagging_fraction": params.bagging_fraction,
        "bagging_freq": 1 if params.bagging_fraction < 1 else 0,
        "feature_fraction": params.feature_fraction,
        "max_bin": params.max_bin,
        "num_threads": params.num_threads,
        # The seed drives bagging, feature fraction and data sampling; with deterministic and
        # force_col_wise the same seed and thread count give the same trees (tests/test_training.py).
        # LightGBM documents the same across thread counts; that is not tested here.
        "seed": seed,
        "deterministic": True,
        "force_col_wise": True,
        "verbosity": -1,
    }


def train(tables: Tables, params: Params, seed: int, train_m: Matrix, valid_m: Matrix, progress: Progress) -> lgb.Booster:
    if train_m.rows == 0 or valid_m.rows == 0:
        raise ContractError("TrainingDataInvalid", f"train has {train_m.rows} rows and validation {valid_m.rows}; both need some")
    names = [f"n_{n}" for n in tables.numeric] + [f"c_{c}" for c in tables.categorical]
    categorical = list(range(len(tables.numeric), len(names)))
    config = lgb_params(tables.task, params, seed)
    train_set = lgb.Dataset(train_m.features, train_m.label, feature_name=names, categorical_feature=categorical, params=config, free_raw_data=True)
    valid_set = lgb.Dataset(valid_m.features, valid_m.label, reference=train_set)

    def heartbeat(env: lgb.callback.CallbackEnv) -> None:
        losses = {f"{name}_{metric}": float(value) for name, metric, value, _ in env.evaluation_result_list}
        progress({"iteration": env.iteration + 1, "of": env.end_iteration, **losses})

    callbacks = [heartbeat]
    if params.early_stopping_rounds > 0:
        callbacks.append(lgb.early_stopping(params.early_stopping_rounds, first_metric_only=True, verbose=False))
    booster = lgb.train(config, train_set, num_boost_round=params.num_trees, valid_sets=[valid_set], valid_names=["validation"], callbacks=callbacks)
    if booster.best_iteration > 0:
        # Keep only the trees up to the best iteration, so the export, predict() and the summary agree.
        booster = lgb.Booster(model_str=booster.model_to_string(num_iteration=booster.best_iteration))
    return booster


def predict(booster: lgb.Booster, m: Matrix, task: LabelTask) -> np.ndarray:
    """What the exported graph must output: P(1) [N], the value in label units [N], or P(class) [N, K]."""
    raw = booster.predict(m.features)
    if task.kind == "regression" and task.log1p:
        return np.expm1(raw)
    return raw
