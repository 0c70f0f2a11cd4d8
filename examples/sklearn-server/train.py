#!/usr/bin/python3
"""Train the example's model and write what a tenant would upload.

Usage: /usr/bin/python3 train.py OUTDIR

Writes OUTDIR/model.tar.gz (model.json inside: a LogisticRegression's
fitted parameters), OUTDIR/rows.csv (request rows) and OUTDIR/expected.json
(scikit-learn's own predict_proba of those rows, flattened).
"""

import io
import json
import os
import sys
import tarfile

import numpy as np
from sklearn.datasets import load_iris
from sklearn.linear_model import LogisticRegression


def main(out):
    d = load_iris()
    rng = np.random.default_rng(3)
    idx = rng.permutation(len(d.data))
    x, y = d.data[idx], d.target[idx]
    params = {"max_iter": 500, "C": 0.8}
    m = LogisticRegression(**params).fit(x[:120], y[:120])
    spec = {
        "kind": "LogisticRegression",
        "params": params,
        "classes": m.classes_.tolist(),
        "coef": m.coef_.tolist(),
        "intercept": m.intercept_.tolist(),
    }
    data = json.dumps(spec).encode()
    with tarfile.open(os.path.join(out, "model.tar.gz"), "w:gz") as tar:
        info = tarfile.TarInfo("model.json")
        info.size = len(data)
        info.mode = 0o644
        tar.addfile(info, io.BytesIO(data))
    rows = x[120:]
    with open(os.path.join(out, "rows.csv"), "w") as f:
        for r in rows:
            f.write(",".join(repr(float(v)) for v in r) + "\n")
    with open(os.path.join(out, "expected.json"), "w") as f:
        json.dump(m.predict_proba(rows).ravel().tolist(), f)


if __name__ == "__main__":
    main(sys.argv[1])
