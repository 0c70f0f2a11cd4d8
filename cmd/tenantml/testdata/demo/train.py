#!/usr/bin/python3
"""Train the three demo tenants' models that `tenantml serve --demo` deploys.

Usage: /usr/bin/python3 cmd/tenantml/testdata/demo/train.py [OUTDIR]

Each demo tenant -- acme (silo), globex (pool), initech (bridge) -- gets its
own churn-style binary classifier (binary:logistic, 10 trees of depth 3)
over the same four features as examples/models (tenure in months, monthly
spend, support tickets, days since the last login), trained with Debian's
python3-xgboost (1.7.x) on 1,000 synthetic rows drawn with the tenant's own
seed and weights, so that the three answer the same rows differently and a
call that reached another tenant's model would show it. It writes to OUTDIR
(default: this script's directory):

  <tenant>.tar.gz        the model as SageMaker packs it (xgboost-model,
                         binary format), byte-for-byte reproducible
  rows.csv               three rows to predict (no header)
  expected-<tenant>.csv  xgboost's own predictions for rows.csv (%.9g)

Everything is deterministic (fixed seeds, nthread=1, tar.gz without
timestamps): running it again rewrites identical files (a test checks).
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

ROWS = [[2, 89.5, 4, 21], [48, 35.0, 0, 1], [30, 120.0, 6, 45]]

# tenant: (seed, weights of tenure, spend, tickets, idle, bias)
TENANTS = {
    "acme": (11, (-0.05, 0.01, 0.4, 0.05, -1.0)),
    "globex": (22, (-0.02, 0.03, 0.1, 0.01, -2.5)),
    "initech": (33, (-0.08, -0.01, 0.7, 0.08, 0.5)),
}


def train(seed, w):
    rng = np.random.default_rng(seed)
    n = 1000
    x = np.column_stack([rng.integers(1, 72, n), rng.uniform(10, 150, n),
                         rng.poisson(1.5, n), rng.exponential(10, n)]).astype(np.float32)
    logit = w[4] + x @ np.array(w[:4], dtype=np.float32)
    y = (rng.random(n) < 1 / (1 + np.exp(-logit))).astype(np.float32)
    params = {"objective": "binary:logistic", "max_depth": 3, "eta": 0.3,
              "tree_method": "exact", "nthread": 1, "seed": seed, "verbosity": 0}
    return xgb.train(params, xgb.DMatrix(x, label=y), num_boost_round=10)


def sagemaker_tar_gz(model_bytes):
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
    with open(os.path.join(out, "rows.csv"), "w") as f:
        for row in ROWS:
            f.write(",".join(str(v) for v in row) + "\n")
    x = np.array(ROWS, dtype=np.float32)
    for name, (seed, w) in TENANTS.items():
        bst = train(seed, w)
        with tempfile.TemporaryDirectory() as tmp:
            path = os.path.join(tmp, "xgboost-model.bin")
            bst.save_model(path)
            with open(path, "rb") as f:
                data = f.read()
        with open(os.path.join(out, name + ".tar.gz"), "wb") as f:
            f.write(sagemaker_tar_gz(data))
        with open(os.path.join(out, "expected-" + name + ".csv"), "w") as f:
            for p in bst.predict(xgb.DMatrix(x)):
                f.write("%.9g\n" % float(p))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
