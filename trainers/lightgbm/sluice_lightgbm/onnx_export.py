"""The trained booster as an ONNX model keeping sluice's graph contract (shared/model-graph.ts).

The trees come from onnxmltools' LightGBM converter rather than from a TreeEnsemble built here out of
`booster.dump_model()`: it is the field's maintained converter, it already turns LightGBM's
categorical set splits ("1||4||7") and its missing-value directions into ai.onnx.ml nodes, and the
parity check below measured its scores within 5e-7 of LightGBM's
(trainers/lightgbm/tests: binary and multiclass ~1e-7, regression ~4e-7 relative). It only takes one float matrix, so
this module adds what the contract asks around it: the `numeric` and `categorical` inputs, a
LabelEncoder per categorical column (the training vocabulary → LightGBM's category codes, unknown
and '' → NaN = missing), and the output of the label's kind with its `sluice.*` metadata.
"""

from __future__ import annotations

import json

import lightgbm as lgb
import numpy as np
import onnx
import onnxruntime as ort
from onnx import TensorProto, helper
from onnxmltools import convert_lightgbm
from onnxmltools.convert.common.data_types import FloatTensorType

from .contract import ContractError, LabelTask, Tables
from .training import Matrix, Vocabulary

# The converter's newest ai.onnx opset; ai.onnx.ml 3 gives LabelEncoder v2 (string → float).
# onnxruntime-node 1.30, which serves the models, runs both, as it does the built-ins' (17 / 3).
ONNX_OPSET = 15
ML_OPSET = 3
# IR 8, as the built-in exports: the newest onnxruntime-node 1.30 is certain to read.
IR_VERSION = 8
PARITY_TOLERANCE = 1e-5


def _tree_graph(booster: lgb.Booster, width: int) -> onnx.GraphProto:
    model = convert_lightgbm(booster, initial_types=[("features", FloatTensorType([None, width]))], zipmap=False, target_opset=ONNX_OPSET)
    return model.graph


def to_onnx(booster: lgb.Booster, tables: Tables, vocab: Vocabulary, metadata: dict[str, str]) -> bytes:
    trees = _tree_graph(booster, len(tables.numeric) + len(tables.categorical))
    nodes: list[onnx.NodeProto] = []
    initializers: list[onnx.TensorProto] = []
    inputs: list[onnx.ValueInfoProto] = []
    parts: list[str] = []
    if tables.numeric:
        inputs.append(helper.make_tensor_value_info("numeric", TensorProto.FLOAT, ["N", len(tables.numeric)]))
        parts.append("numeric")
    if tables.categorical:
        inputs.append(helper.make_tensor_value_info("categorical", TensorProto.STRING, ["N", len(tables.categorical)]))
        for j, name in enumerate(tables.categorical):
            index = f"cat{j}_index"
            initializers.append(helper.make_tensor(index, TensorProto.INT64, [1], [j]))
            nodes.append(helper.make_node("Gather", ["categorical", index], [f"cat{j}_value"], axis=1, name=f"gather_{name}"))
            nodes.append(
                helper.make_node(
                    "LabelEncoder",
                    [f"cat{j}_value"],
                    [f"cat{j}_code"],
                    domain="ai.onnx.ml",
                    keys_strings=vocab.categories[j],
                    values_floats=[float(i) for i in range(len(vocab.categories[j]))],
                    default_float=float("nan"),
                    name=f"encode_{name}",
                )
            )
            parts.append(f"cat{j}_code")
    nodes.append(helper.make_node("Concat", parts, ["features"], axis=1, name="features"))
    nodes.extend(trees.node)
    initializers.extend(trees.initializer)

    task = tables.task
    props = dict(metadata)
    if task.kind == "binary":
        # The converter's [N, 2] probabilities: column 1 is P(label = 1).
        initializers += [helper.make_tensor(n, TensorProto.INT64, [1], [v]) for n, v in (("p1_start", 1), ("p1_end", 2), ("p1_axis", 1))]
        nodes.append(helper.make_node("Slice", ["probabilities", "p1_start", "p1_end", "p1_axis"], ["probability"], name="probability"))
        output = helper.make_tensor_value_info("probability", TensorProto.FLOAT, ["N", 1])
    elif task.kind == "multiclass":
        # Class k of the booster is the k-th of `classes`: training coded labels in that order.
        output = helper.make_tensor_value_info("probabilities", TensorProto.FLOAT, ["N", len(task.classes)])
        props.update({"sluice.label_kind": "multiclass", "sluice.classes": json.dumps(list(task.classes))})
    else:
        raw = trees.output[0].name
        if task.log1p:
            initializers.append(helper.make_tensor("one", TensorProto.FLOAT, [1], [1.0]))
            nodes += [helper.make_node("Exp", [raw], ["value_exp"]), helper.make_node("Sub", ["value_exp", "one"], ["value"])]
        else:
            nodes.append(helper.make_node("Identity", [raw], ["value"]))
        output = helper.make_tensor_value_info("value", TensorProto.FLOAT, ["N", 1])
        props["sluice.label_kind"] = "regression"
        if task.transform is not None:
            props["sluice.label_transform"] = json.dumps(task.transform)

    graph = helper.make_graph(nodes, f"{metadata['sluice.model_name']}_lightgbm", inputs, [output], initializers)
    model = helper.make_model(
        graph,
        opset_imports=[helper.make_opsetid("", ONNX_OPSET), helper.make_opsetid("ai.onnx.ml", ML_OPSET)],
        producer_name="sluice-lightgbm",
        ir_version=IR_VERSION,
    )
    helper.set_model_props(model, props)
    onnx.checker.check_model(model)
    return model.SerializeToString()


def check_parity(onnx_bytes: bytes, m: Matrix, expected: np.ndarray, task: LabelTask) -> float:
    """Max difference between the ONNX scores and LightGBM's on `m` (regression: relative to max(1, |y|))."""
    session = ort.InferenceSession(onnx_bytes, providers=["CPUExecutionProvider"])
    feeds = {}
    if m.numeric.shape[1]:
        feeds["numeric"] = m.numeric
    if m.categorical.shape[1]:
        feeds["categorical"] = m.categorical
    (scores,) = session.run(None, feeds)
    want = expected.reshape(scores.shape).astype(np.float64)
    diff = np.abs(scores.astype(np.float64) - want)
    if task.kind == "regression":
        diff /= np.maximum(1.0, np.abs(want))
    worst = float(diff.max()) if diff.size else 0.0
    if not worst <= PARITY_TOLERANCE:
        row = int(np.unravel_index(int(np.nanargmax(diff)), diff.shape)[0]) if diff.size else -1
        raise ContractError("OnnxParityMismatch", f"ONNX scores differ from LightGBM's by up to {worst} (row {row}); tolerance is {PARITY_TOLERANCE}")
    return worst
