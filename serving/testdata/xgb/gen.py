#!/usr/bin/python3
"""Train the serving tests' models with the real xgboost library.

Usage: /usr/bin/python3 gen.py OUTDIR

Writes, for each case, OUTDIR/<case>/ with the artifact the tenant would
upload (a SageMaker-style model.tar.gz, or a bare model file), the request
rows as text/csv and application/json, and OUTDIR/manifest.json listing the
cases with xgboost's own predictions (Booster.predict on a DMatrix of the
same float32 rows, missing values as NaN). Deterministic: fixed seeds,
nthread=1. Debian's python3-xgboost and python3-sklearn provide the
libraries (scripts/test-deps.sh installs them).
"""

import io
import json
import os
import sys
import tarfile
import warnings

import numpy as np
import xgboost as xgb
from sklearn.datasets import load_breast_cancer, load_iris

warnings.simplefilter("ignore")


def f32(a):
    return np.asarray(a, dtype=np.float32)


def pack(path, member, data):
    """Write data as the only member of a gzip'd tar, as SageMaker packs it."""
    with tarfile.open(path, "w:gz") as tar:
        info = tarfile.TarInfo(member)
        info.size = len(data)
        info.mode = 0o644
        tar.addfile(info, io.BytesIO(data))


def save(booster, path):
    booster.save_model(path)
    with open(path, "rb") as f:
        return f.read()


def csv_rows(x):
    lines = []
    for row in x:
        lines.append(",".join("" if v != v else repr(float(v)) for v in row))
    return "\n".join(lines) + "\n"


def json_rows(x):
    return json.dumps({"instances": [[None if v != v else float(v) for v in row] for row in x]})


def main(out):
    rng = np.random.default_rng(7)
    cases = []

    def emit(name, objective, booster, x, artifact_name, artifact_bytes):
        d = os.path.join(out, name)
        os.makedirs(d, exist_ok=True)
        with open(os.path.join(d, artifact_name), "wb") as f:
            f.write(artifact_bytes)
        with open(os.path.join(d, "rows.csv"), "w") as f:
            f.write(csv_rows(x))
        with open(os.path.join(d, "rows.json"), "w") as f:
            f.write(json_rows(x))
        pred = booster.predict(xgb.DMatrix(x, missing=np.nan))
        pred = f32(pred)
        outputs = 1 if pred.ndim == 1 else pred.shape[1]
        cases.append({
            "name": name,
            "objective": objective,
            "artifact": os.path.join(name, artifact_name),
            "num_features": int(x.shape[1]),
            "num_outputs": outputs,
            "rows": int(x.shape[0]),
            "rows_csv": os.path.join(name, "rows.csv"),
            "rows_json": os.path.join(name, "rows.json"),
            "predictions": [None if v != v else v for v in pred.ravel().astype(np.float64).tolist()],
        })

    # binary:logistic on breast cancer, packed as SageMaker's xgboost-model
    # (legacy binary format) inside model.tar.gz.
    d = load_breast_cancer()
    x, y = f32(d.data), d.target
    b = xgb.train({"objective": "binary:logistic", "max_depth": 4, "eta": 0.3, "nthread": 1, "seed": 1},
                  xgb.DMatrix(x[:400], label=y[:400]), 30)
    tmp = os.path.join(out, "tmp.bin")
    data = save(b, tmp)
    art = io.BytesIO()
    pack_path = os.path.join(out, "tmp.tar.gz")
    pack(pack_path, "xgboost-model", data)
    with open(pack_path, "rb") as f:
        art = f.read()
    emit("binary", "binary:logistic", b, x[400:460], "model.tar.gz", art)

    # multi:softprob on iris as a bare JSON model file.
    d = load_iris()
    x, y = f32(d.data), d.target
    idx = rng.permutation(len(x))
    x, y = x[idx], y[idx]
    b = xgb.train({"objective": "multi:softprob", "num_class": 3, "max_depth": 3, "nthread": 1, "seed": 1},
                  xgb.DMatrix(x[:100], label=y[:100]), 20)
    tmp = os.path.join(out, "tmp.json")
    emit("multi", "multi:softprob", b, x[100:], "model.json", save(b, tmp))

    # reg:squarederror with missing values, UBJSON inside model.tar.gz.
    x = f32(rng.normal(size=(400, 6)))
    y = x[:, 0] * 2 - x[:, 1] + np.sin(x[:, 2])
    mask = rng.random(x.shape) < 0.15
    x[mask] = np.nan
    b = xgb.train({"objective": "reg:squarederror", "max_depth": 5, "nthread": 1, "seed": 1},
                  xgb.DMatrix(x[:300], label=y[:300], missing=np.nan), 40)
    tmp = os.path.join(out, "tmp.ubj")
    pack(pack_path, "model.ubj", save(b, tmp))
    with open(pack_path, "rb") as f:
        art = f.read()
    emit("regression", "reg:squarederror", b, x[300:], "model.tar.gz", art)

    for t in ("tmp.bin", "tmp.json", "tmp.ubj", "tmp.tar.gz"):
        os.remove(os.path.join(out, t))
    with open(os.path.join(out, "manifest.json"), "w") as f:
        json.dump(cases, f)


if __name__ == "__main__":
    main(sys.argv[1])
