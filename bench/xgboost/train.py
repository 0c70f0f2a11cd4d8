#!/usr/bin/python3
"""Train the benchmark model: 100 trees of depth 6, binary:logistic.

Usage: /usr/bin/python3 train.py OUTDIR

Writes OUTDIR/model.json, model.ubj and model.bin (legacy binary) for one
model trained on 20,000 rows of 32 normally distributed features with 5%
missing values -- the same distribution main.go draws its benchmark rows
from. Deterministic (fixed seed, nthread=1); takes a few seconds.
"""

import os
import sys
import warnings

import numpy as np
import xgboost as xgb

warnings.simplefilter("ignore")

ROWS, FEATURES, TREES, DEPTH = 20000, 32, 100, 6


def main(argv):
    if len(argv) != 2:
        print("usage: train.py OUTDIR", file=sys.stderr)
        return 2
    out = argv[1]
    os.makedirs(out, exist_ok=True)
    rng = np.random.default_rng(1)
    x = rng.normal(size=(ROWS, FEATURES)).astype(np.float32)
    signal = (x[:, 0] * x[:, 1] + np.sin(3 * x[:, 2]) + x[:, 3] ** 2 - 1
              + 0.3 * x[:, 4:12].sum(axis=1))
    y = (signal + 0.5 * rng.normal(size=ROWS) > 0).astype(np.float32)
    x[rng.random(x.shape) < 0.05] = np.nan
    params = {"objective": "binary:logistic", "max_depth": DEPTH, "eta": 0.1,
              "tree_method": "hist", "nthread": 1, "seed": 1,
              "verbosity": 0}
    bst = xgb.train(params, xgb.DMatrix(x, label=y, missing=np.nan),
                    num_boost_round=TREES)
    for name in ("model.json", "model.ubj", "model.bin"):
        bst.save_model(os.path.join(out, name))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
