#!/usr/bin/python3
"""Train the example model that `tenantml predict` and README use.

Usage: /usr/bin/python3 examples/models/train.py [OUTDIR]

A churn-style binary classifier (binary:logistic, 20 trees of depth 3) over
four features -- tenure in months, monthly spend, support tickets in the last
quarter, and days since the last login -- trained on 2,000 synthetic rows
with Debian's python3-xgboost (1.7.x). It writes to OUTDIR (default: the
directory of this script):

  model.tar.gz   the model as SageMaker packs it: one member, xgboost-model,
                 in XGBoost's binary format
  rows.csv       five rows to predict (no header; an empty field is a
                 missing value)
  expected.csv   xgboost's own predictions for rows.csv, one per line (%.9g)

Everything is deterministic (fixed seed, nthread=1, a tar.gz without
timestamps), so running it again rewrites identical files; the tests in
cmd/tenantml check that, and that `tenantml predict` agrees with xgboost.
"""

import gzip
import io
import os
import sys
import tarfile
import tempfile
import warnings

import numpy as np
import xgboost as xgb

warnings.simplefilter("ignore")

ROWS = [
    # tenure, spend, tickets, days since login
    [2, 89.5, 4, 21],
    [48, 35.0, 0, 1],
    [12, 60.25, 1, ""],
    [30, 120.0, 6, 45],
    [7, 19.99, 0, 3],
]


def train():
    rng = np.random.default_rng(7)
    n = 2000
    tenure = rng.integers(1, 72, n).astype(np.float32)
    spend = rng.uniform(10, 150, n).astype(np.float32)
    tickets = rng.poisson(1.5, n).astype(np.float32)
    idle = rng.exponential(10, n).astype(np.float32)
    x = np.column_stack([tenure, spend, tickets, idle])
    logit = -1.0 - 0.05 * tenure + 0.01 * spend + 0.4 * tickets + 0.05 * idle
    y = (rng.random(n) < 1 / (1 + np.exp(-logit))).astype(np.float32)
    x[rng.random(x.shape) < 0.03] = np.nan
    params = {"objective": "binary:logistic", "max_depth": 3, "eta": 0.3,
              "tree_method": "exact", "nthread": 1, "seed": 7, "verbosity": 0}
    return xgb.train(params, xgb.DMatrix(x, label=y, missing=np.nan),
                     num_boost_round=20)


def sagemaker_tar_gz(model_bytes):
    """A model.tar.gz as SageMaker packs it, byte-for-byte reproducible."""
    raw = io.BytesIO()
    with tarfile.open(fileobj=raw, mode="w", format=tarfile.USTAR_FORMAT) as tar:
        info = tarfile.TarInfo("xgboost-model")
        info.size, info.mode, info.mtime = len(model_bytes), 0o644, 0
        tar.addfile(info, io.BytesIO(model_bytes))
    out = io.BytesIO()
    with gzip.GzipFile(fileobj=out, mode="wb", mtime=0) as gz:
        gz.write(raw.getvalue())
    return out.getvalue()


def main(argv):
    out = argv[1] if len(argv) > 1 else os.path.dirname(os.path.abspath(__file__))
    os.makedirs(out, exist_ok=True)
    bst = train()
    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, "xgboost-model.bin")  # .bin: the binary format
        bst.save_model(path)
        with open(path, "rb") as f:
            model_bytes = f.read()
    with open(os.path.join(out, "model.tar.gz"), "wb") as f:
        f.write(sagemaker_tar_gz(model_bytes))
    with open(os.path.join(out, "rows.csv"), "w") as f:
        for row in ROWS:
            f.write(",".join(str(v) for v in row) + "\n")
    x = np.array([[np.nan if v == "" else v for v in row] for row in ROWS], dtype=np.float32)
    pred = bst.predict(xgb.DMatrix(x, missing=np.nan))
    with open(os.path.join(out, "expected.csv"), "w") as f:
        for p in pred:
            f.write("%.9g\n" % float(p))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
