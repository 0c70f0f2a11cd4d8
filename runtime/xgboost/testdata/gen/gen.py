#!/usr/bin/python3
"""Generate XGBoost conformance cases for tenantml's native runtime.

Usage: /usr/bin/python3 gen.py OUTDIR

Trains small models with the real xgboost library (Debian's python3-xgboost,
1.7.x) for every objective and booster the runtime must serve, and writes for
each case a directory OUTDIR/<case>/ holding:

  model.json, model.ubj, model.bin   the model in JSON, UBJSON and the legacy
                                     binary format (save_model picks the
                                     format from the extension; .bin is binary)
  model.tar.gz                       a SageMaker-style artifact: one member
                                     named xgboost-model in the binary format
  model-json.tar.gz, model-ubj.tar.gz  the same with xgboost-model.json or
                                     model.ubj inside
  data.json                          input rows and xgboost's predictions

and OUTDIR/manifest.json listing the cases. All floats are float32 values
written as float64 decimals, which round-trip exactly; NaN (a missing value)
is written as null. Only formats that xgboost itself reloads with bit-identical
predictions are listed; any other is reported under "dropped_formats".

Everything is deterministic (fixed seeds, nthread=1) and takes a few seconds.
"""

import io
import json
import os
import sys
import tarfile
import warnings

import numpy as np
import xgboost as xgb
from sklearn.datasets import load_breast_cancer, load_diabetes, load_iris

warnings.simplefilter("ignore")

OBJECTIVES = [
    "reg:squarederror",
    "reg:squaredlogerror",
    "reg:logistic",
    "reg:pseudohubererror",
    "reg:absoluteerror",
    "reg:gamma",
    "reg:tweedie",
    "count:poisson",
    "binary:logistic",
    "binary:logitraw",
    "binary:hinge",
    "multi:softmax",
    "multi:softprob",
    "rank:pairwise",
    "rank:ndcg",
    "rank:map",
    "survival:cox",
    "survival:aft",
]

BOOSTERS = ["gbtree", "dart", "gblinear"]

# FORMATS maps the runtime's Info().Format name to the file each is saved in.
FORMATS = [
    ("xgboost-json", "model.json"),
    ("xgboost-ubj", "model.ubj"),
    ("xgboost-binary", "model.bin"),
]


def f32(a):
    return np.asarray(a, dtype=np.float32)


def floats(a):
    """Flatten a float32 array into JSON-safe floats (None for NaN)."""
    out = []
    for v in f32(a).ravel().astype(np.float64).tolist():
        out.append(None if v != v else v)
    return out


def with_missing(x, rng, frac=0.1):
    """Copy x and blank about frac of its cells with NaN."""
    x = x.copy()
    mask = rng.random(x.shape) < frac
    x[mask] = np.nan
    return x


# ---------------------------------------------------------------- datasets


def ds_regression(rng):
    d = load_diabetes()
    x = f32(d.data)
    y = d.target.astype(np.float64)  # positive: fits gamma/tweedie/poisson/log
    return x[:300], y[:300], x[300:]


def ds_binary(rng):
    d = load_breast_cancer()
    x = f32(d.data)
    y = d.target.astype(np.float64)
    return x[:400], y[:400], x[400:]


def ds_multiclass(rng):
    d = load_iris()
    x = f32(d.data)
    idx = rng.permutation(len(x))
    x, y = x[idx], d.target[idx].astype(np.float64)
    return x[:100], y[:100], x[100:]


def ds_random_missing(rng, n=400, f=6):
    x = f32(rng.normal(size=(n, f)))
    y = x[:, 0] * 2 - x[:, 1] + np.sin(x[:, 2]) + rng.normal(scale=0.1, size=n)
    x = with_missing(x, rng, 0.2)
    return x[:300], y[:300].astype(np.float64), x[300:]


def ds_rank(rng, labels, n=300, f=6, group=15):
    x = f32(rng.normal(size=(n, f)))
    score = x[:, 0] + 0.5 * x[:, 1] + rng.normal(scale=0.3, size=n)
    if labels == "binary":
        y = (score > 0.3).astype(np.float64)
    else:
        y = np.clip(np.round(score + 1.5), 0, 4).astype(np.float64)
    groups = [group] * (n // group)
    return x, y, groups


def ds_cox(rng, n=300, f=5):
    x = f32(rng.normal(size=(n, f)))
    t = rng.exponential(scale=np.exp(-x[:, 0] + 0.5 * x[:, 1]))
    censored = rng.random(n) < 0.3
    y = np.where(censored, -t, t)
    return x[:220], y[:220], x[220:]


def ds_aft(rng, n=300, f=5):
    x = f32(rng.normal(size=(n, f)))
    t = np.exp(1 + x[:, 0] - 0.5 * x[:, 2] + rng.normal(scale=0.3, size=n))
    lower = t.copy()
    upper = t.copy()
    right = rng.random(n) < 0.25
    upper[right] = np.inf  # right-censored
    interval = (~right) & (rng.random(n) < 0.2)
    lower[interval] = t[interval] * 0.7
    upper[interval] = t[interval] * 1.3
    return x[:220], (lower[:220], upper[:220]), x[220:]


def ds_categorical(rng, n=400):
    """Two numeric and two categorical columns (8 and 12 levels) with NaNs."""
    num = rng.normal(size=(n, 2))
    c1 = rng.integers(0, 8, size=n)
    c2 = rng.integers(0, 12, size=n)
    effect1 = np.array([0, 3, -2, 1, 4, -3, 0.5, 2])
    effect2 = rng.normal(scale=2, size=12)
    y = num[:, 0] + effect1[c1] + effect2[c2] + rng.normal(scale=0.1, size=n)
    x = f32(np.column_stack([num[:, 0], c1, num[:, 1], c2]))
    x = with_missing(x, rng, 0.08)
    test = x[300:].copy()
    # Categories never seen in training must follow xgboost's rule too.
    test[:5, 1] = 9
    test[5:10, 3] = 15
    return x[:300], y[:300], test


# ---------------------------------------------------------------- cases


def objective_case(objective, rng):
    """Return (params, train DMatrix kwargs, test rows, extra) for objective."""
    params = {"objective": objective}
    if objective in ("reg:squarederror", "reg:squaredlogerror",
                     "reg:pseudohubererror", "reg:absoluteerror",
                     "reg:gamma", "reg:tweedie", "count:poisson"):
        x, y, test = ds_regression(rng)
        # Small labels so that every objective's trees find splits.
        if objective in ("reg:squaredlogerror", "reg:pseudohubererror",
                         "reg:gamma", "reg:tweedie"):
            y = y / 100.0
            params["min_child_weight"] = 0.0
        if objective == "count:poisson":
            y = np.round(y / 25.0)
            params["min_child_weight"] = 0.0
            params["max_delta_step"] = 2.0
        if objective == "reg:tweedie":
            params["tweedie_variance_power"] = 1.3
        return params, {"data": x, "label": y}, test
    if objective == "reg:logistic":
        x, y, test = ds_binary(rng)
        return params, {"data": x, "label": y * 0.8 + 0.1}, test
    if objective.startswith("binary:"):
        x, y, test = ds_binary(rng)
        return params, {"data": x, "label": y}, test
    if objective.startswith("multi:"):
        x, y, test = ds_multiclass(rng)
        params["num_class"] = 3
        return params, {"data": x, "label": y}, test
    if objective.startswith("rank:"):
        labels = "binary" if objective == "rank:map" else "graded"
        x, y, groups = ds_rank(rng, labels)
        return params, {"data": x[:225], "label": y[:225],
                        "group": groups[:15]}, x[225:]
    if objective == "survival:cox":
        x, y, test = ds_cox(rng)
        return params, {"data": x, "label": y}, test
    if objective == "survival:aft":
        x, (lo, hi), test = ds_aft(rng)
        params["aft_loss_distribution"] = "normal"
        params["aft_loss_distribution_scale"] = 1.2
        return params, {"data": x, "label_lower_bound": lo,
                        "label_upper_bound": hi}, test
    raise ValueError(objective)


def dmatrix(kw, feature_types=None, feature_names=None):
    kw = dict(kw)
    group = kw.pop("group", None)
    lo = kw.pop("label_lower_bound", None)
    hi = kw.pop("label_upper_bound", None)
    d = xgb.DMatrix(kw.pop("data"), label=kw.pop("label", None),
                    missing=np.nan, feature_types=feature_types,
                    feature_names=feature_names,
                    enable_categorical=feature_types is not None and
                    "c" in feature_types, nthread=1)
    if group is not None:
        d.set_group(group)
    if lo is not None:
        d.set_float_info("label_lower_bound", lo)
        d.set_float_info("label_upper_bound", hi)
    return d


def booster_params(booster):
    if booster == "gbtree":
        return {"booster": "gbtree", "max_depth": 4, "eta": 0.3}
    if booster == "dart":
        return {"booster": "dart", "max_depth": 3, "eta": 0.3,
                "rate_drop": 0.3, "skip_drop": 0.0, "sample_type": "uniform",
                "normalize_type": "tree"}
    if booster == "gblinear":
        return {"booster": "gblinear", "eta": 0.5, "lambda": 0.1,
                "updater": "coord_descent"}
    raise ValueError(booster)


def all_cases(seed):
    """Yield case dicts: name, params, rounds, train kwargs, test rows, ..."""
    rng = np.random.default_rng(seed)
    for objective in OBJECTIVES:
        for booster in BOOSTERS:
            params, train, test = objective_case(objective, rng)
            params.update(booster_params(booster))
            yield {
                "name": f"{objective.replace(':', '_')}-{booster}",
                "objective": objective, "booster": booster,
                "params": params, "rounds": 6, "train": train,
                "test": test, "tags": [],
            }

    # Random forests: several parallel trees per iteration, with and
    # without boosting on top, and per class for multi-class.
    for objective, rounds in (("reg:squarederror", 1), ("binary:logistic", 3),
                              ("multi:softprob", 3)):
        params, train, test = objective_case(objective, rng)
        params.update({"booster": "gbtree", "max_depth": 4, "eta": 1.0,
                       "num_parallel_tree": 4, "subsample": 0.8,
                       "colsample_bynode": 0.8})
        yield {"name": f"forest-{objective.replace(':', '_')}-r{rounds}",
               "objective": objective, "booster": "gbtree", "params": params,
               "rounds": rounds, "train": train, "test": test,
               "tags": ["num_parallel_tree"]}

    # Dart with forest normalisation and one_drop, on a multi-class model.
    params, train, test = objective_case("multi:softprob", rng)
    params.update(booster_params("dart"))
    params.update({"normalize_type": "forest", "one_drop": 1,
                   "sample_type": "weighted", "rate_drop": 0.5})
    yield {"name": "dart-forestnorm-multi_softprob", "objective":
           "multi:softprob", "booster": "dart", "params": params,
           "rounds": 8, "train": train, "test": test, "tags": ["dart"]}

    # Explicit base_score, applied as each objective defines it.
    for objective, base in (("reg:squarederror", 120.0),
                            ("binary:logistic", 0.2),
                            ("count:poisson", 6.0),
                            ("reg:gamma", 1.5),
                            ("survival:aft", 3.0)):
        for booster in ("gbtree", "gblinear"):
            params, train, test = objective_case(objective, rng)
            params.update(booster_params(booster))
            params["base_score"] = base
            yield {"name": f"base_score-{objective.replace(':', '_')}-{booster}",
                   "objective": objective, "booster": booster,
                   "params": params, "rounds": 4, "train": train,
                   "test": test, "tags": ["base_score"]}

    # Missing values in training and prediction: default directions.
    x, y, test = ds_random_missing(rng)
    for booster in BOOSTERS:
        params = {"objective": "reg:squarederror"}
        params.update(booster_params(booster))
        yield {"name": f"missing-{booster}", "objective": "reg:squarederror",
               "booster": booster, "params": params, "rounds": 8,
               "train": {"data": x, "label": y}, "test": test,
               "tags": ["missing"]}

    # Feature names and a deeper tree, approx/exact/hist methods.
    x, y, test = ds_binary(rng)
    names = [f"f_{i}_{n.replace(' ', '_')}" for i, n in
             enumerate(load_breast_cancer().feature_names)]
    for method in ("exact", "approx", "hist"):
        params = {"objective": "binary:logistic", "booster": "gbtree",
                  "max_depth": 8, "eta": 0.2, "tree_method": method}
        yield {"name": f"names-{method}", "objective": "binary:logistic",
               "booster": "gbtree", "params": params, "rounds": 10,
               "train": {"data": x, "label": y}, "test": test,
               "feature_names": names, "tags": ["feature_names"]}

    # Multi-target regression: one tree per target per iteration.
    x, y, test = ds_regression(rng)
    y2 = np.column_stack([y, np.log(y), -0.5 * y]).astype(np.float64)
    for booster in ("gbtree", "gblinear"):
        params = {"objective": "reg:squarederror", "tree_method": "hist"}
        params.update(booster_params(booster))
        yield {"name": f"multi_target-{booster}",
               "objective": "reg:squarederror", "booster": booster,
               "params": params, "rounds": 4,
               "train": {"data": x, "label": y2}, "test": test,
               "tags": ["num_target"]}

    # Many classes: more output groups than a small fixed buffer holds.
    x = f32(rng.normal(size=(800, 8)))
    y = np.floor((x[:, 0] + 4) * 10).clip(0, 79).astype(np.float64)
    for objective in ("multi:softmax", "multi:softprob"):
        params = {"objective": objective, "num_class": 80,
                  "booster": "gbtree", "max_depth": 2, "eta": 0.5}
        yield {"name": f"classes80-{objective.replace(':', '_')}",
               "objective": objective, "booster": "gbtree",
               "params": params, "rounds": 2,
               "train": {"data": x[:700], "label": y[:700]},
               "test": x[700:], "tags": ["many_classes"]}

    # Dart on a forest, gblinear's other updater, AFT's other distributions.
    params, train, test = objective_case("binary:logistic", rng)
    params.update(booster_params("dart"))
    params.update({"num_parallel_tree": 3, "subsample": 0.7})
    yield {"name": "dart-forest-binary_logistic", "objective":
           "binary:logistic", "booster": "dart", "params": params,
           "rounds": 5, "train": train, "test": test,
           "tags": ["dart", "num_parallel_tree"]}
    params, train, test = objective_case("reg:squarederror", rng)
    params.update(booster_params("gblinear"))
    params.update({"updater": "shotgun", "feature_selector": "shuffle"})
    yield {"name": "gblinear-shotgun-reg_squarederror", "objective":
           "reg:squarederror", "booster": "gblinear", "params": params,
           "rounds": 6, "train": train, "test": test, "tags": ["gblinear"]}
    for dist in ("logistic", "extreme"):
        params, train, test = objective_case("survival:aft", rng)
        params.update(booster_params("gbtree"))
        params["aft_loss_distribution"] = dist
        yield {"name": f"aft_{dist}-gbtree", "objective": "survival:aft",
               "booster": "gbtree", "params": params, "rounds": 5,
               "train": train, "test": test, "tags": ["aft"]}

    # Categorical features: one-hot and partition splits, unseen categories.
    x, y, test = ds_categorical(rng)
    ftypes = ["q", "c", "q", "c"]
    for split, onehot in (("onehot", 16), ("partition", 1)):
        for objective in ("reg:squarederror", "binary:logistic",
                          "multi:softprob"):
            label = y
            params = {"objective": objective}
            if objective == "binary:logistic":
                label = (y > np.median(y)).astype(np.float64)
            if objective == "multi:softprob":
                label = np.digitize(y, np.quantile(y, [0.33, 0.66]))
                label = label.astype(np.float64)
                params["num_class"] = 3
            params.update({"booster": "gbtree", "tree_method": "hist",
                           "max_depth": 4, "eta": 0.3,
                           "max_cat_to_onehot": onehot})
            yield {"name": f"cat_{split}-{objective.replace(':', '_')}",
                   "objective": objective, "booster": "gbtree",
                   "params": params, "rounds": 6,
                   "train": {"data": x, "label": label}, "test": test,
                   "feature_types": ftypes, "tags": ["categorical"]}


# ---------------------------------------------------------------- output


def threshold_rows(bst, test, rng, n=24):
    """Rows whose features sit exactly on the model's split thresholds.

    xgboost sends a value equal to a numeric split's threshold right
    (the test is value < threshold); these rows pin that comparison.
    Categorical splits are left out. Returns an empty block for gblinear.
    """
    model = json.loads(bst.save_raw(raw_format="json"))
    gb = model["learner"]["gradient_booster"]
    if "gbtree" in gb:  # dart nests its gbtree
        gb = gb["gbtree"]
    trees = gb.get("model", {}).get("trees", [])
    splits = {}
    for t in trees:
        types = t.get("split_type") or [0] * len(t["split_indices"])
        for left, feat, cond, kind in zip(t["left_children"],
                                          t["split_indices"],
                                          t["split_conditions"], types):
            if left != -1 and kind == 0:
                splits.setdefault(feat, set()).add(cond)
    if not splits:
        return test[:0]
    rows = test[rng.integers(0, len(test), size=n)].copy()
    feats = sorted(splits)
    for r in rows:
        for feat in rng.choice(feats, size=min(3, len(feats)), replace=False):
            r[feat] = rng.choice(sorted(splits[feat]))
    return rows


def predict_all(bst, dtest, case):
    """xgboost's outputs for one booster: predict, margin and ranges."""
    pred = bst.predict(dtest, validate_features=False)
    margin = bst.predict(dtest, output_margin=True, validate_features=False)
    ranges = []
    rounds = case["rounds"]
    if case["booster"] != "gblinear" and rounds >= 2:
        for begin, end in ((0, 1), (1, rounds)):
            r = bst.predict(dtest, iteration_range=(begin, end),
                            validate_features=False)
            rm = bst.predict(dtest, iteration_range=(begin, end),
                             output_margin=True, validate_features=False)
            ranges.append({"begin": begin, "end": end, "predict": r,
                           "margin": rm})
    return pred, margin, ranges


def same(a, b):
    return np.array_equal(f32(a), f32(b), equal_nan=True)


def objective_name(bst):
    return json.loads(bst.save_config())["learner"]["objective"]["name"]


def write_case(outdir, case):
    name = case["name"]
    cdir = os.path.join(outdir, name)
    os.makedirs(cdir, exist_ok=True)
    params = dict(case["params"])
    params.update({"nthread": 1, "seed": 7, "verbosity": 0})
    ftypes = case.get("feature_types")
    fnames = case.get("feature_names")
    dtrain = dmatrix(case["train"], ftypes, fnames)
    bst = xgb.train(params, dtrain, num_boost_round=case["rounds"])

    test = f32(case["test"])
    rng = np.random.default_rng(len(name))
    # Half the rows as given, half with extra NaNs: default directions.
    rows = np.concatenate([test, with_missing(test, rng, 0.25),
                           threshold_rows(bst, test, rng)])
    dtest = dmatrix({"data": rows}, ftypes, fnames)
    pred, margin, ranges = predict_all(bst, dtest, case)
    n = rows.shape[0]

    formats, dropped = [], []
    for fmt, fname in FORMATS:
        path = os.path.join(cdir, fname)
        try:
            bst.save_model(path)
            re = xgb.Booster(model_file=path)
            re.set_param({"nthread": 1})
            p2, m2, r2 = predict_all(re, dtest, case)
        except xgb.core.XGBoostError as e:
            dropped.append({"format": fmt, "reason": str(e).splitlines()[0]})
            continue
        ok = same(pred, p2) and same(margin, m2) and all(
            same(a["predict"], b["predict"]) and same(a["margin"], b["margin"])
            for a, b in zip(ranges, r2))
        if not ok:
            dropped.append({"format": fmt, "reason":
                            "xgboost's own reload predicts differently"})
            os.remove(path)
            continue
        formats.append({
            "format": fmt, "file": f"{name}/{fname}",
            "num_features": re.num_features(),
            "feature_names": list(re.feature_names or []),
            "objective": objective_name(re),
        })

    # SageMaker-style artifacts: the built-in algorithm's xgboost-model
    # (legacy binary) and, as users pack them, a JSON or UBJSON file.
    artifacts = []
    members = {"xgboost-binary": ("model.tar.gz", "xgboost-model"),
               "xgboost-json": ("model-json.tar.gz", "xgboost-model.json"),
               "xgboost-ubj": ("model-ubj.tar.gz", "model.ubj")}
    for f in formats:
        tarname, member = members[f["format"]]
        with open(os.path.join(outdir, f["file"]), "rb") as fh:
            raw = fh.read()
        with tarfile.open(os.path.join(cdir, tarname), "w:gz") as tf:
            info = tarfile.TarInfo(member)
            info.size = len(raw)
            info.mode = 0o644
            tf.addfile(info, io.BytesIO(raw))
        artifacts.append({"file": f"{name}/{tarname}", "member": member,
                          "format": f["format"]})

    data = {
        "rows": n, "num_features": rows.shape[1], "x": floats(rows),
        "predict": floats(pred), "predict_outputs": pred.size // n,
        "margin": floats(margin), "margin_outputs": margin.size // n,
        "ranges": [{"begin": r["begin"], "end": r["end"],
                    "predict": floats(r["predict"]),
                    "margin": floats(r["margin"])} for r in ranges],
    }
    with open(os.path.join(cdir, "data.json"), "w") as fh:
        json.dump(data, fh, allow_nan=False)

    return {
        "name": name, "objective": case["objective"],
        "booster": case["booster"], "tags": case["tags"],
        "params": {k: v for k, v in params.items()},
        "rounds": case["rounds"], "data": f"{name}/data.json",
        "formats": formats, "dropped_formats": dropped,
        "artifacts": artifacts,
    }


def main(argv):
    if len(argv) != 2:
        print("usage: gen.py OUTDIR", file=sys.stderr)
        return 2
    outdir = argv[1]
    os.makedirs(outdir, exist_ok=True)
    cases = []
    for case in all_cases(seed=20261123):
        cases.append(write_case(outdir, case))
    manifest = {"xgboost_version": xgb.__version__,
                "objectives": OBJECTIVES, "boosters": BOOSTERS,
                "cases": cases}
    with open(os.path.join(outdir, "manifest.json"), "w") as fh:
        json.dump(manifest, fh, indent=1, allow_nan=False)
    for c in cases:
        for d in c["dropped_formats"]:
            print(f"gen.py: {c['name']}: dropped {d['format']}: {d['reason']}",
                  file=sys.stderr)
    print(f"gen.py: {len(cases)} cases in {outdir}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
