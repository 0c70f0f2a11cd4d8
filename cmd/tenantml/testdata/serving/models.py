#!/usr/bin/python3
"""Train distinguishable models for the serving tests of cmd/tenantml.

Usage: /usr/bin/python3 models.py OUTDIR N

Trains N churn-style binary classifiers like examples/models/train.py's
(binary:logistic over the same four features, 10 trees of depth 3) with
Debian's python3-xgboost, each on its own synthetic data (seed i), so that
every model answers the example rows differently. It writes, in OUTDIR:

  model-<i>.tar.gz  model i as SageMaker packs it (xgboost-model inside)
  expected.json     {"rows": "<csv>", "scores": [[...], ...]}: xgboost's own
                    predictions of each model for the rows

Everything is deterministic (fixed seeds, nthread=1, tar.gz without
timestamps).
"""

import json
import os
import sys
import tempfile
import warnings

import numpy as np
import xgboost as xgb

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "..", "..", "examples", "models"))
from train import sagemaker_tar_gz  # noqa: E402 (the example model's packing, shared)

warnings.simplefilter("ignore")

ROWS = [
    [2, 89.5, 4, 21],
    [48, 35.0, 0, 1],
    [12, 60.25, 1, 9],
    [30, 120.0, 6, 45],
    [7, 19.99, 0, 3],
]


def train(seed):
    rng = np.random.default_rng(seed)
    n = 500
    x = np.column_stack([rng.integers(1, 72, n), rng.uniform(10, 150, n),
                         rng.poisson(1.5, n), rng.exponential(10, n)]).astype(np.float32)
    w = rng.normal(0, 0.08, 4)
    logit = rng.normal(0, 1) + x @ w
    y = (rng.random(n) < 1 / (1 + np.exp(-logit))).astype(np.float32)
    params = {"objective": "binary:logistic", "max_depth": 3, "eta": 0.3,
              "tree_method": "exact", "nthread": 1, "seed": seed, "verbosity": 0}
    return xgb.train(params, xgb.DMatrix(x, label=y), num_boost_round=10)


def main(argv):
    out, n = argv[1], int(argv[2])
    os.makedirs(out, exist_ok=True)
    x = np.array(ROWS, dtype=np.float32)
    scores = []
    for i in range(n):
        bst = train(1000 + i)
        with tempfile.TemporaryDirectory() as tmp:
            path = os.path.join(tmp, "xgboost-model.bin")
            bst.save_model(path)
            with open(path, "rb") as f:
                model_bytes = f.read()
        with open(os.path.join(out, "model-%d.tar.gz" % i), "wb") as f:
            f.write(sagemaker_tar_gz(model_bytes))
        scores.append([float(p) for p in bst.predict(xgb.DMatrix(x))])
    rows = "".join(",".join(str(v) for v in row) + "\n" for row in ROWS)
    with open(os.path.join(out, "expected.json"), "w") as f:
        json.dump({"rows": rows, "scores": scores}, f)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
