#!/usr/bin/python3
"""A scikit-learn model server speaking the SageMaker inference container contract.

This is what a tenant's (or operator's) own model server looks like to
tenantml: the supervisor starts it instead of `tenantml worker` when a
variant names its registered image, and talks to it exactly as it talks to
the native worker.

  GET /ping                      200 once the model is loaded
  POST /invocations              text/csv or application/json rows ->
                                 predict_proba, text/csv (default) or JSON
  POST /models                   multi-model: {"model_name", "url"}
  GET /models, GET/DELETE /models/{name}, POST /models/{name}/invoke

It listens on the Unix socket in TENANTML_WORKER_SOCKET (created 0600), or
on 127.0.0.1:SAGEMAKER_BIND_TO_PORT (default 8080). A single-model server
loads SM_MODEL_DIR/model.json at start; SAGEMAKER_MULTI_MODEL=true makes it
a multi-model server that loads what POST /models names.

model.json holds a fitted LogisticRegression's parameters (see train.py),
not a pickle: unpickling a file runs code from it, and a model server
should load data, not programs. Only Debian's python3-sklearn is needed.
"""

import csv
import io
import json
import os
import socketserver
import sys
import threading
from http.server import BaseHTTPRequestHandler
from urllib.parse import parse_qs, unquote, urlparse

import numpy as np
from sklearn.linear_model import LogisticRegression

MAX_BODY = 6 << 20


def load_model(path):
    if os.path.isdir(path):
        path = os.path.join(path, "model.json")
    with open(path) as f:
        spec = json.load(f)
    if spec.get("kind") != "LogisticRegression":
        raise ValueError("unsupported model kind %r" % spec.get("kind"))
    m = LogisticRegression(**spec.get("params", {}))
    m.classes_ = np.asarray(spec["classes"])
    m.coef_ = np.asarray(spec["coef"], dtype=np.float64)
    m.intercept_ = np.asarray(spec["intercept"], dtype=np.float64)
    m.n_features_in_ = m.coef_.shape[1]
    return m


def decode(ctype, body, nfeat):
    ctype = (ctype or "text/csv").split(";")[0].strip()
    if ctype == "text/csv":
        rows = [[float(v) if v.strip() else float("nan") for v in rec]
                for rec in csv.reader(io.StringIO(body.decode())) if rec]
    elif ctype == "application/json":
        doc = json.loads(body)
        rows = doc["instances"] if isinstance(doc, dict) else doc
    else:
        raise TypeError("content type %s is not supported" % ctype)
    x = np.asarray(rows, dtype=np.float64)
    if x.ndim != 2 or x.shape[1] != nfeat:
        raise ValueError("want rows of %d features" % nfeat)
    return x


def encode(accept, proba):
    accept = (accept or "text/csv").split(",")[0].split(";")[0].strip()
    if accept in ("application/json",):
        return "application/json", json.dumps({"predictions": proba.tolist()}).encode()
    if accept not in ("text/csv", "*/*"):
        raise LookupError("accept %s is not supported" % accept)
    lines = [",".join("%.17g" % v for v in row) for row in proba]
    return "text/csv", ("\n".join(lines) + "\n").encode()


class Server:
    def __init__(self, multi):
        self.multi = multi
        self.lock = threading.Lock()
        self.models = {}
        if not multi:
            self.single = load_model(os.environ.get("SM_MODEL_DIR", "/opt/ml/model"))


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    state = None

    def log_message(self, fmt, *args):
        sys.stderr.write("sklearn-server: " + (fmt % args) + "\n")

    def reply(self, status, body=b"", ctype="application/json"):
        self.send_response(status)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def error(self, status, typ, msg):
        self.reply(status, json.dumps({"code": status, "type": typ, "message": msg}).encode())

    def body(self):
        n = int(self.headers.get("Content-Length") or 0)
        if n > MAX_BODY:
            raise OverflowError
        return self.rfile.read(n)

    def predict(self, model):
        try:
            body = self.body()
        except OverflowError:
            return self.error(413, "PayloadTooLarge", "request body too large")
        try:
            x = decode(self.headers.get("Content-Type"), body, model.n_features_in_)
        except TypeError as e:
            return self.error(415, "UnsupportedMediaType", str(e))
        except Exception as e:
            return self.error(400, "BadRequest", str(e))
        try:
            ctype, out = encode(self.headers.get("Accept"), model.predict_proba(x))
        except LookupError as e:
            return self.error(406, "NotAcceptable", str(e))
        self.reply(200, out, ctype)

    def do_GET(self):
        s = self.state
        u = urlparse(self.path)
        parts = [unquote(p) for p in u.path.split("/") if p]
        if parts == ["ping"]:
            return self.reply(200, b"{}")
        if parts == ["models"]:
            with s.lock:
                models = [{"modelName": n, "modelUrl": url} for n, (url, _) in sorted(s.models.items())]
            return self.reply(200, json.dumps({"models": models}).encode())
        if len(parts) == 2 and parts[0] == "models":
            with s.lock:
                entry = s.models.get(parts[1])
            if entry is None:
                return self.error(404, "ModelNotFoundException", "model not loaded")
            return self.reply(200, json.dumps({"modelName": parts[1], "modelUrl": entry[0]}).encode())
        self.error(404, "NotFound", "no such route")

    def do_POST(self):
        s = self.state
        parts = [unquote(p) for p in urlparse(self.path).path.split("/") if p]
        if parts == ["invocations"] and not s.multi:
            return self.predict(s.single)
        if parts == ["models"] and s.multi:
            try:
                req = json.loads(self.body())
                name, url = req["model_name"], req["url"]
            except Exception:
                return self.error(400, "BadRequest", 'body is not {"model_name", "url"}')
            with s.lock:
                if name in s.models:
                    return self.error(409, "ConflictException", "model already loaded")
            try:
                m = load_model(url)
            except Exception as e:
                return self.error(400, "BadRequest", "load model: %s" % e)
            with s.lock:
                s.models[name] = (url, m)
            return self.reply(200, json.dumps({"modelName": name, "modelUrl": url}).encode())
        if len(parts) == 3 and parts[0] == "models" and parts[2] == "invoke" and s.multi:
            with s.lock:
                entry = s.models.get(parts[1])
            if entry is None:
                return self.error(404, "ModelNotFoundException", "model not loaded")
            return self.predict(entry[1])
        self.error(404, "NotFound", "no such route")

    def do_DELETE(self):
        s = self.state
        parts = [unquote(p) for p in urlparse(self.path).path.split("/") if p]
        if len(parts) == 2 and parts[0] == "models":
            with s.lock:
                if s.models.pop(parts[1], None) is None:
                    return self.error(404, "ModelNotFoundException", "model not loaded")
            return self.reply(200, b"{}")
        self.error(404, "NotFound", "no such route")


class UnixServer(socketserver.ThreadingMixIn, socketserver.UnixStreamServer):
    daemon_threads = True

    def get_request(self):
        conn, _ = super().get_request()
        return conn, ("worker", 0)


class TCPServer(socketserver.ThreadingMixIn, socketserver.TCPServer):
    daemon_threads = True
    allow_reuse_address = True


def serve(handler):
    sock = os.environ.get("TENANTML_WORKER_SOCKET")
    if sock:
        os.umask(0o077)
        if os.path.exists(sock):
            os.remove(sock)
        srv = UnixServer(sock, handler)
        os.chmod(sock, 0o600)
    else:
        srv = TCPServer(("127.0.0.1", int(os.environ.get("SAGEMAKER_BIND_TO_PORT", "8080"))), handler)
    srv.serve_forever()


def main():
    Handler.state = Server(os.environ.get("SAGEMAKER_MULTI_MODEL") == "true")
    serve(Handler)


if __name__ == "__main__":
    main()
