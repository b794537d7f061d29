"""LightGBM's side of bench/lightgbm-peer.ts: the shipped trainer's own code (trainers/lightgbm, on
PYTHONPATH) on local feature Parquet, so the peer is LightGBM as sluice's worker runs it. Reads one JSON
request (argv[1]), writes the test split's P(delayed) as float64 to `predictions`, prints one JSON line.
"""

import json
import resource
import sys
import time
from pathlib import Path

import lightgbm
import numpy as np

from sluice_lightgbm import training
from sluice_lightgbm.contract import LabelTask, Tables, parse_params


def main() -> None:
    request = json.loads(sys.argv[1])
    folder = Path(request["tables"])
    tables = Tables(
        dataset_version="bench",
        feature_definition_hash="bench",
        split_keys={},
        numeric=request["numeric"],
        categorical=request["categorical"],
        label_column=request["label"],
        task=LabelTask("binary"),
    )
    params = parse_params(request["params"])
    splits = {name: training.read_split([str(folder / f"{name}.parquet")]) for name in ("train", "validation", "test")}
    vocab = training.vocabulary(splits["train"], tables)
    train_m, valid_m, test_m = (training.matrix(splits[name], tables, vocab) for name in ("train", "validation", "test"))
    del splits

    cpu_start = time.process_time()
    start = time.perf_counter()
    booster = training.train(tables, params, request["seed"], train_m, valid_m, lambda _: None)
    train_seconds = time.perf_counter() - start
    cpu_seconds = time.process_time() - cpu_start

    training.predict(booster, test_m, tables.task).astype(np.float64).tofile(request["predictions"])
    print(
        json.dumps(
            {
                "trainer": f"lightgbm {lightgbm.__version__} ({params.num_threads} threads)",
                "trainSeconds": round(train_seconds, 2),
                "trainCpuSeconds": round(cpu_seconds, 2),
                "trees": booster.num_trees(),
                # ru_maxrss is in KiB on Linux.
                "peakRssMiB": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024),
                "rows": {"train": train_m.rows, "validation": valid_m.rows, "test": test_m.rows},
            }
        )
    )


if __name__ == "__main__":
    main()
