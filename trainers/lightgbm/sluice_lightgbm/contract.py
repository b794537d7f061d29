"""The external-trainer contract of sluice's pipeline, as this worker reads it (README, "Bring your own
trainer"; `activities/pipeline/contract.ts` is the source of truth). Input is checked here, once, so
the training code below works on values it can trust; anything wrong is a `ContractError` naming it.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

SPLITS = ("train", "validation", "test")


class ContractError(ValueError):
    """Bad input or data: retrying cannot help. `kind` is a sluice failure type (shared/errors.ts)."""

    def __init__(self, kind: str, message: str) -> None:
        super().__init__(message)
        self.kind = kind


@dataclass(frozen=True)
class LabelTask:
    kind: str  # binary | regression | multiclass
    classes: tuple[str, ...] = ()
    clip_min: float = -math.inf
    clip_max: float = math.inf
    log1p: bool = False
    transform: dict[str, Any] | None = None


@dataclass(frozen=True)
class Tables:
    dataset_version: str
    feature_definition_hash: str
    split_keys: dict[str, list[str]]
    numeric: list[str]
    categorical: list[str]
    label_column: str
    task: LabelTask


@dataclass(frozen=True)
class Params:
    """LightGBM's settings, named as sluice names them (camelCase, like the built-in GBDT's)."""

    num_trees: int = 200
    learning_rate: float = 0.1
    num_leaves: int = 63
    max_depth: int = 8
    min_data_in_leaf: int = 100
    lambda_l2: float = 1.0
    bagging_fraction: float = 0.8
    feature_fraction: float = 1.0
    max_bin: int = 255
    early_stopping_rounds: int = 20
    # Fixed rather than "all cores", so a retraining on another machine runs the same configuration
    # (the summary records it) and its time is comparable.
    num_threads: int = 2


# Spec name → (field, type, lower bound, upper bound); the TypeScript shorthand `{"kind": "lightgbm"}`
# (shared/trainers.ts) validates the same names before a run starts.
_PARAMS: dict[str, tuple[str, type, float, float]] = {
    "numTrees": ("num_trees", int, 1, 10_000),
    "learningRate": ("learning_rate", float, 1e-9, 1),
    "numLeaves": ("num_leaves", int, 2, 131_072),
    "maxDepth": ("max_depth", int, -1, 64),
    "minDataInLeaf": ("min_data_in_leaf", int, 1, math.inf),
    "lambdaL2": ("lambda_l2", float, 0, math.inf),
    "baggingFraction": ("bagging_fraction", float, 1e-9, 1),
    "featureFraction": ("feature_fraction", float, 1e-9, 1),
    "maxBin": ("max_bin", int, 2, 65_535),
    "earlyStoppingRounds": ("early_stopping_rounds", int, 0, math.inf),
    "numThreads": ("num_threads", int, 1, 256),
}


def parse_params(raw: Any) -> Params:
    if not isinstance(raw, dict):
        raise ContractError("InvalidInput", f"trainer.hyperparameters must be an object, not {type(raw).__name__}")
    values: dict[str, Any] = {}
    problems: list[str] = []
    for name, value in raw.items():
        if name not in _PARAMS:
            problems.append(f"unknown hyperparameter {name!r} (known: {', '.join(_PARAMS)})")
            continue
        attr, kind, low, high = _PARAMS[name]
        is_number = isinstance(value, (int, float)) and not isinstance(value, bool)
        if not is_number or (kind is int and value != int(value)) or not low <= value <= high:
            problems.append(f"{name} must be {'an integer' if kind is int else 'a number'} in [{low}, {high}], not {value!r}")
            continue
        values[attr] = kind(value)
    if problems:
        raise ContractError("InvalidInput", "; ".join(problems))
    return Params(**values)


def _require(obj: Any, path: str, kind: type) -> Any:
    if not isinstance(obj, kind):
        raise ContractError("InvalidInput", f"{path} must be a {kind.__name__}")
    return obj


def _strings(obj: Any, path: str) -> list[str]:
    items = _require(obj, path, list)
    if not all(isinstance(s, str) for s in items):
        raise ContractError("InvalidInput", f"{path} must be a list of strings")
    return items


def parse_task(raw: Any) -> LabelTask:
    if raw is None:
        return LabelTask("binary")
    raw = _require(raw, "tables.label", dict)
    kind = raw.get("kind")
    if kind == "binary":
        return LabelTask("binary")
    if kind == "multiclass":
        classes = tuple(_strings(raw.get("classes"), "tables.label.classes"))
        if len(classes) < 2 or len(set(classes)) != len(classes):
            raise ContractError("InvalidInput", "tables.label.classes must name at least two distinct classes")
        return LabelTask("multiclass", classes=classes)
    if kind == "regression":
        transform = raw.get("transform")
        if transform is None:
            return LabelTask("regression")
        transform = _require(transform, "tables.label.transform", dict)
        clip = transform.get("clip") or {}
        return LabelTask(
            "regression",
            clip_min=float(clip.get("min", -math.inf)),
            clip_max=float(clip.get("max", math.inf)),
            log1p=transform.get("log1p") is True,
            transform=transform,
        )
    raise ContractError("InvalidInput", f"tables.label.kind must be binary, regression or multiclass, not {kind!r}")


def parse_tables(raw: Any) -> Tables:
    raw = _require(raw, "tables", dict)
    splits = _require(raw.get("splits"), "tables.splits", dict)
    split_keys: dict[str, list[str]] = {}
    for name in ("train", "validation"):
        split = _require(splits.get(name), f"tables.splits.{name}", dict)
        # An incremental feature build leaves a split as earlier builds' files followed by its own.
        split_keys[name] = _strings(split.get("earlier", []), f"tables.splits.{name}.earlier") + [
            _require(split.get("key"), f"tables.splits.{name}.key", str)
        ]
    names = _require(raw.get("featureNames"), "tables.featureNames", dict)
    numeric = _strings(names.get("numeric"), "tables.featureNames.numeric")
    categorical = _strings(names.get("categorical"), "tables.featureNames.categorical")
    if not numeric and not categorical:
        raise ContractError("InvalidInput", "tables.featureNames has no features")
    return Tables(
        dataset_version=_require(raw.get("datasetVersion"), "tables.datasetVersion", str),
        feature_definition_hash=_require(raw.get("featureDefinitionHash"), "tables.featureDefinitionHash", str),
        split_keys=split_keys,
        numeric=numeric,
        categorical=categorical,
        label_column=_require(raw.get("labelColumn"), "tables.labelColumn", str),
        task=parse_task(raw.get("label")),
    )


@dataclass(frozen=True)
class TrainRequest:
    model_name: str
    run_id: str
    seed: int
    trainer_name: str
    params: Params
    tables: Tables


def parse_request(raw: Any) -> TrainRequest:
    raw = _require(raw, "input", dict)
    trainer = _require(raw.get("trainer"), "trainer", dict)
    if trainer.get("kind") != "external":
        raise ContractError("InvalidInput", f"trainer.kind must be 'external', not {trainer.get('kind')!r}")
    seed = raw.get("seed")
    if not isinstance(seed, int) or isinstance(seed, bool) or not 0 <= seed < 2**31:
        raise ContractError("InvalidInput", f"seed must be an integer in [0, 2^31), not {seed!r}")
    return TrainRequest(
        model_name=_require(raw.get("modelName"), "modelName", str),
        run_id=_require(raw.get("runId"), "runId", str),
        seed=seed,
        trainer_name=_require(trainer.get("name"), "trainer.name", str),
        params=parse_params(trainer.get("hyperparameters", {})),
        tables=parse_tables(raw.get("tables")),
    )
