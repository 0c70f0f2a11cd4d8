package main

import (
	"bufio"
	"encoding/json"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"testing"
)

// boto3Driver is one long-lived Python process (Debian's /usr/bin/python3
// and python3-boto3) that makes boto3 calls for the attack suite: each
// call is a JSON line on its stdin, each answer a JSON line on its stdout.
// One process per server keeps boto3's import and model loading to once
// while every call is still made, signed and parsed by boto3 itself.
type boto3Driver struct {
	mu  sync.Mutex
	cmd *exec.Cmd
	in  io.WriteCloser
	out *bufio.Scanner
}

// boto3DriverScript answers one call per line:
// {"service","op","params","key","secret","token","region"} →
// {"ok":true,"result","requestId","status"} or
// {"ok":false,"code","message","status","requestId"}.
// Clients are cached per service, credentials and region.
const boto3DriverScript = `
import base64, datetime, json, sys
import boto3, botocore
endpoint = sys.argv[1]
cfg = botocore.config.Config(retries={"max_attempts": 1})
session = boto3.session.Session()
clients = {}
def client(c):
    k = (c["service"], c.get("key"), c.get("secret"), c.get("token"), c.get("region", "us-east-1"))
    if k not in clients:
        kw = dict(endpoint_url=endpoint, region_name=k[4], config=cfg)
        if c.get("key"):
            kw.update(aws_access_key_id=k[1], aws_secret_access_key=k[2], aws_session_token=k[3] or None)
        else:
            kw["config"] = cfg.merge(botocore.config.Config(signature_version=botocore.UNSIGNED))
        clients[k] = session.client(c["service"], **kw)
    return clients[k]
def default(o):
    if isinstance(o, (datetime.datetime, datetime.date)):
        return o.isoformat()
    if isinstance(o, (bytes, bytearray)):
        return base64.b64encode(o).decode()
    return str(o)
for line in sys.stdin:
    c = json.loads(line)
    params = c.get("params") or {}
    for k in c.get("binary") or []:
        params[k] = base64.b64decode(params[k])
    try:
        res = getattr(client(c), c["op"])(**params)
        meta = res.pop("ResponseMetadata", {})
        out = {"ok": True, "result": res, "requestId": meta.get("RequestId", ""), "status": meta.get("HTTPStatusCode", 0)}
    except botocore.exceptions.ClientError as e:
        err, meta = e.response.get("Error", {}), e.response.get("ResponseMetadata", {})
        out = {"ok": False, "code": err.get("Code", ""), "message": err.get("Message", ""),
               "status": meta.get("HTTPStatusCode", 0), "requestId": meta.get("RequestId", "")}
    except Exception as e:
        out = {"ok": False, "code": "client:" + type(e).__name__, "message": str(e)}
    print(json.dumps(out, default=default), flush=True)
`

// boto3Result is one call's answer.
type boto3Result struct {
	OK      bool           `json:"ok"`
	Result  map[string]any `json:"result"`
	Code    string         `json:"code"`
	Message string         `json:"message"`
	Status  int            `json:"status"`
	// RequestID is the request ID the server answered with.
	RequestID string `json:"requestId"`
}

// boto3 returns the environment's driver.
func (e *attackEnv) boto3(t *testing.T) *boto3Driver {
	t.Helper()
	if e.driver == nil {
		t.Fatal("the boto3 driver is not running")
	}
	return e.driver
}

// startBoto3 starts the environment's driver, stopped when t ends.
func (e *attackEnv) startBoto3(t *testing.T) {
	t.Helper()
	dir := t.TempDir()
	script := filepath.Join(dir, "driver.py")
	empty := filepath.Join(dir, "empty")
	for name, body := range map[string]string{script: boto3DriverScript, empty: ""} {
		if err := os.WriteFile(name, []byte(body), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	cmd := exec.Command("/usr/bin/python3", script, e.ts.URL)
	cmd.Env = []string{"PATH=" + os.Getenv("PATH"), "HOME=" + dir, "AWS_CONFIG_FILE=" + empty,
		"AWS_SHARED_CREDENTIALS_FILE=" + empty, "AWS_EC2_METADATA_DISABLED=true"}
	cmd.Stderr = os.Stderr
	in, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatalf("start boto3 driver: %v", err)
	}
	sc := bufio.NewScanner(out)
	sc.Buffer(make([]byte, 1<<20), 16<<20)
	e.driver = &boto3Driver{cmd: cmd, in: in, out: sc}
	t.Cleanup(e.driver.stop)
}

// stop ends the driver process.
func (d *boto3Driver) stop() {
	d.mu.Lock()
	defer d.mu.Unlock()
	_ = d.in.Close()
	_ = d.cmd.Wait()
}

// call makes one boto3 call as by (unsigned when by is nil).
func (d *boto3Driver) call(t *testing.T, by *principal, service, op string, params map[string]any, binary ...string) boto3Result {
	t.Helper()
	req := map[string]any{"service": service, "op": op, "params": params, "binary": binary}
	if by != nil {
		req["key"], req["secret"], req["token"] = by.keyID, by.secret, by.token
	}
	line, err := json.Marshal(req)
	if err != nil {
		t.Fatal(err)
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	if _, err := d.in.Write(append(line, '\n')); err != nil {
		t.Fatalf("boto3 driver: %v", err)
	}
	if !d.out.Scan() {
		t.Fatalf("boto3 driver ended: %v", d.out.Err())
	}
	var res boto3Result
	if err := json.Unmarshal(d.out.Bytes(), &res); err != nil {
		t.Fatalf("boto3 driver: %v in %s", err, d.out.Bytes())
	}
	return res
}
