package audit_test

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"

	"github.com/tenantml/tenantml/audit"
)

const crashChildEnv = "TENANTML_AUDIT_CRASH_CHILD_DIR"

func TestMain(m *testing.M) {
	if dir := os.Getenv(crashChildEnv); dir != "" {
		crashChild(dir)
		return
	}
	os.Exit(m.Run())
}

// crashChild appends from several goroutines until killed, printing
// "ack <seq> <eventID>" for every acknowledged event.
func crashChild(dir string) {
	l, err := audit.Open(context.Background(), audit.Config{Dir: dir, Origin: "tenantml.audit/crash"})
	if err != nil {
		fmt.Fprintln(os.Stderr, "child open:", err)
		os.Exit(2)
	}
	var mu sync.Mutex
	var wg sync.WaitGroup
	for w := range 8 {
		wg.Go(func() {
			for i := 0; ; i++ {
				ev := event(fmt.Sprintf("tenant-%d", w), "p", "InvokeEndpoint", audit.Allowed)
				r, err := l.Append(context.Background(), ev)
				if err != nil {
					fmt.Fprintln(os.Stderr, "child append:", err)
					os.Exit(3)
				}
				mu.Lock()
				fmt.Fprintf(os.Stdout, "ack %d %s\n", r.Seq, r.EventID)
				mu.Unlock()
			}
		})
	}
	wg.Wait()
}

func TestLog_CrashRecovery(t *testing.T) {
	dir := t.TempDir()
	acked := map[int64]string{}
	for round := range 2 {
		cmd := exec.Command(os.Args[0], "-test.run=^$")
		cmd.Env = append(os.Environ(), crashChildEnv+"="+dir)
		var stderr strings.Builder
		cmd.Stderr = &stderr
		out, err := cmd.StdoutPipe()
		if err != nil {
			t.Fatal(err)
		}
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		sc := bufio.NewScanner(out)
		n := 0
		killed := false
		for sc.Scan() {
			f := strings.Fields(sc.Text())
			if len(f) != 3 || f[0] != "ack" {
				t.Fatalf("child said %q", sc.Text())
			}
			seq, _ := strconv.ParseInt(f[1], 10, 64)
			if _, dup := acked[seq]; dup {
				t.Fatalf("round %d: seq %d acknowledged twice", round, seq)
			}
			acked[seq] = f[2]
			if n++; n == 1500 && !killed {
				// Kill mid-stream; lines already in the pipe are
				// acknowledgements too and are still read.
				cmd.Process.Signal(syscall.SIGKILL)
				killed = true
			}
		}
		err = cmd.Wait()
		if ws, ok := cmd.ProcessState.Sys().(syscall.WaitStatus); !ok || !ws.Signaled() || ws.Signal() != syscall.SIGKILL {
			t.Fatalf("round %d: child ended with %v, stderr %s", round, err, stderr.String())
		}
	}

	tl := openTestLog(t, dir, nil)
	ctx := context.Background()
	if tl.Size() < int64(len(acked)) {
		t.Fatalf("log holds %d events, %d were acknowledged", tl.Size(), len(acked))
	}
	for seq, id := range acked {
		p, err := tl.InclusionProof(ctx, audit.Scope{AllTenants: true}, seq, tl.Size())
		if err != nil {
			t.Fatalf("acknowledged seq %d: %v", seq, err)
		}
		ev, err := audit.LeafEvent(p.Leaf)
		if err != nil || ev.EventID != id {
			t.Fatalf("seq %d holds event %q, acknowledged %q", seq, ev.EventID, id)
		}
	}
	tl.close(t)
	rep, err := audit.Verify(dir, audit.VerifyOptions{})
	if err != nil || !rep.OK() {
		t.Fatalf("Verify after crashes = %+v, %v", rep, err)
	}
	t.Logf("%d acknowledged events survived 2 kill -9; %s", len(acked), rep.Summary())
}
