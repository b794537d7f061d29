"""A Temporal worker that trains sluice candidates with LightGBM: it registers the pipeline's
`trainCandidate` activity on its own task queue (the spec's `trainer.taskQueue`), reads the feature
splits from the object store, and writes an ONNX model keeping sluice's graph contract.

Settings are the platform's own SLUICE_* variables (shared/config.ts), plus
SLUICE_TASK_QUEUE_LIGHTGBM (default `sluice-lightgbm`), the queue this worker polls.
"""

from __future__ import annotations

import asyncio
import hashlib
import io
import json
import os
import signal
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from concurrent.futures import TimeoutError as StillRunning
from datetime import timedelta
from importlib.metadata import version
from typing import Any, Callable
from urllib.parse import quote

from minio import Minio
from temporalio import activity
from temporalio.client import Client
from temporalio.exceptions import ApplicationError
from temporalio.worker import Worker

from . import onnx_export, training
from .connections import env, object_store, temporal_tls
from .contract import ContractError, TrainRequest, parse_request

DEFAULT_TASK_QUEUE = "sluice-lightgbm"
LIBRARIES = ("lightgbm", "onnxmltools", "onnx", "onnxruntime", "numpy", "pyarrow", "temporalio")


Report = Callable[[dict[str, Any]], None]


def _train(request: TrainRequest, store: Minio, features_bucket: str, models_bucket: str, report: Report) -> dict[str, Any]:
    tables = request.tables
    with tempfile.TemporaryDirectory(prefix="sluice-lightgbm-") as tmp:
        splits = {}
        for split, keys in tables.split_keys.items():
            paths = []
            for i, key in enumerate(keys):
                path = os.path.join(tmp, f"{split}-{i}.parquet")
                store.fget_object(features_bucket, key, path)
                paths.append(path)
            splits[split] = training.read_split(paths)
    report({"step": "encoding", "trainRows": splits["train"].num_rows})
    vocab = training.vocabulary(splits["train"], tables)
    train_m = training.matrix(splits["train"], tables, vocab)
    valid_m = training.matrix(splits["validation"], tables, vocab)
    del splits

    started = time.perf_counter()
    booster = training.train(tables, request.params, request.seed, train_m, valid_m, report)
    train_seconds = time.perf_counter() - started
    train_rows = train_m.rows
    del train_m

    report({"step": "exporting", "trees": booster.num_trees()})
    libraries = {name: version(name) for name in LIBRARIES}
    metadata = {
        "sluice.model_name": request.model_name,
        # The registry assigns the version at registration and stamps it into the stored file.
        "sluice.model_version": "0",
        "sluice.feature_names": _json({"numeric": tables.numeric, "categorical": tables.categorical}),
        "sluice.trainer": f"external:{request.trainer_name}",
        "sluice.lineage": _json({"datasetVersion": tables.dataset_version, "featureDefinitionHash": tables.feature_definition_hash, "trainingRun": request.run_id}),
    }
    onnx_bytes = onnx_export.to_onnx(booster, tables, vocab, metadata)
    parity = onnx_export.check_parity(onnx_bytes, valid_m, training.predict(booster, valid_m, tables.task), tables.task)

    key = f"_candidates/{quote(request.run_id, safe='')}/model.onnx"
    store.put_object(models_bucket, key, io.BytesIO(onnx_bytes), len(onnx_bytes), content_type="application/octet-stream")
    return {
        "candidateKey": key,
        "onnxSha256": hashlib.sha256(onnx_bytes).hexdigest(),
        "parityMaxAbsDiff": parity,
        "trainSeconds": train_seconds,
        "libraries": libraries,
        "summary": {
            "library": "lightgbm",
            "trees": booster.num_trees(),
            "bestIteration": booster.best_iteration or booster.current_iteration(),
            "trainRows": train_rows,
            "validationRows": valid_m.rows,
            "numThreads": request.params.num_threads,
        },
    }


def _json(value: object) -> str:
    return json.dumps(value, separators=(",", ":"))


def _beating(work: Callable[[Report], dict[str, Any]]) -> dict[str, Any]:
    """Runs `work` on a thread of its own and heartbeats its latest report from this one every third of
    the heartbeat timeout: reading the splits, building LightGBM's dataset or exporting each hold a
    stretch without progress reports, and the pipeline's timeout is short (12 s) so that a dead
    worker's training is retried quickly."""
    timeout = activity.info().heartbeat_timeout or timedelta(seconds=12)
    every = max(timeout.total_seconds() / 3, 0.25)
    latest: dict[str, Any] = {"step": "staging splits"}
    lock = threading.Lock()

    def report(details: dict[str, Any]) -> None:
        nonlocal latest
        with lock:
            latest = details

    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="lightgbm-training") as pool:
        running = pool.submit(work, report)
        while True:
            with lock:
                activity.heartbeat(latest)
            try:
                return running.result(timeout=every)
            except StillRunning:
                continue


def make_activity(store: Minio, features_bucket: str, models_bucket: str):
    @activity.defn(name="trainCandidate")
    def train_candidate(raw: dict[str, Any]) -> dict[str, Any]:
        try:
            request = parse_request(raw)
            return _beating(lambda report: _train(request, store, features_bucket, models_bucket, report))
        except ContractError as err:
            # Bad input or data fails the run at once, typed as sluice's own failures are.
            raise ApplicationError(str(err), type=err.kind, non_retryable=True) from err

    return train_candidate


async def main() -> None:
    client = await Client.connect(env("SLUICE_TEMPORAL_ADDRESS", "127.0.0.1:7233"), namespace=env("SLUICE_TEMPORAL_NAMESPACE", "default"), tls=temporal_tls())
    task_queue = env("SLUICE_TASK_QUEUE_LIGHTGBM", DEFAULT_TASK_QUEUE)
    train_candidate = make_activity(object_store(), env("SLUICE_BUCKET_FEATURES", "sluice-features"), env("SLUICE_BUCKET_MODELS", "sluice-models"))
    # One training at a time: LightGBM already uses the threads it is given, and two would halve each.
    with ThreadPoolExecutor(max_workers=1) as executor:
        # Heartbeats forwarded every 2 s rather than every 0.8 × the timeout, which would leave the
        # server hearing from a live training only 2.4 s before a 12 s timeout.
        worker = Worker(
            client,
            task_queue=task_queue,
            activities=[train_candidate],
            activity_executor=executor,
            max_concurrent_activities=1,
            max_heartbeat_throttle_interval=timedelta(seconds=2),
        )
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, stop.set)
        async with worker:
            print(f"lightgbm worker ready on task queue {task_queue}", flush=True)
            await stop.wait()


if __name__ == "__main__":
    asyncio.run(main())
