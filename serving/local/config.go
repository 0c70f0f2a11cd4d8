package local

import (
	"log/slog"
	"time"

	"github.com/tenantml/tenantml/serving"
)

// Image is a model server the operator registered: what a variant's Image
// name selects. Tenants name images; they never supply a command.
type Image struct {
	// Command is the server's argv; Command[0] must be an absolute path
	// the workers' users can execute. Empty for the native image: the
	// supervisor's Executable with "worker".
	Command []string
	// Env is added to the environment the supervisor sets.
	Env map[string]string
	// Unpack extracts a model.tar.gz into the model directory, as the
	// managed cloud does for /opt/ml/model; without it the artifact is
	// delivered as one file (the native worker opens archives itself,
	// inside its sandbox).
	Unpack bool
	// KeepFiles leaves the delivered files in place while the model is
	// loaded, for servers that read them lazily. By default they are
	// deleted as soon as the worker reports the model loaded, so the
	// plaintext exists only in the worker's memory.
	KeepFiles bool
	// TCP makes the server listen on a loopback TCP port
	// (SAGEMAKER_BIND_TO_PORT) instead of a Unix socket. Such a worker
	// cannot have a network namespace of its own (the supervisor must
	// reach the port): use it only for servers that cannot listen on a
	// Unix socket.
	TCP bool
}

// UIDRange is the range of user IDs workers run as when the supervisor is
// root: one ID per silo or bridge tenant, one per pool endpoint. IDs need
// no /etc/passwd entry; the range must not be used by anyone else on the
// machine.
type UIDRange struct {
	First uint32
	Count uint32
}

// Network says whether workers get a network namespace of their own.
type Network string

// Network isolation settings.
const (
	// NetworkAuto isolates workers where the kernel allows it.
	NetworkAuto Network = "auto"
	// NetworkRequire refuses to start when workers cannot be isolated.
	NetworkRequire Network = "require"
	// NetworkOff never isolates (development only).
	NetworkOff Network = "off"
)

// Config configures a Supervisor. Zero fields take the defaults New
// documents.
type Config struct {
	// Executable is the tenantml binary: the sandbox helper every worker
	// starts through and the native worker. Default os.Executable().
	Executable string
	// Images are the registered model servers by name; "" is the native
	// runtime, added when absent.
	Images map[string]Image
	// InstanceTypes is the size table; default
	// serving.DefaultInstanceTypes().
	InstanceTypes serving.InstanceTypes
	// RunDir is where the supervisor creates its directory of private
	// per-worker directories; default /dev/shm (a tmpfs: delivered
	// plaintext never reaches a disk), else the system temp dir.
	RunDir string
	// UIDs is the range workers' users come from when running as root;
	// default 2,000,000 + 100,000.
	UIDs UIDRange
	// Network is the network isolation setting; default NetworkAuto.
	Network Network
	// CgroupParent is a cgroup v2 directory delegated to tenantml, "off"
	// to never use cgroups; empty tries the supervisor's own cgroup when
	// it is a delegated root, and falls back to rlimits otherwise.
	CgroupParent string
	// Nice is the workers' nice value where cgroup cpu.max is not
	// available; default 5.
	Nice int
	// NoFile and NProc are the workers' RLIMIT_NOFILE (default 4096) and,
	// for workers with a user of their own, RLIMIT_NPROC (default 512).
	NoFile int64
	NProc  int64
	// PingInterval, PingTimeout and PingFailures define health: a worker
	// that fails PingFailures consecutive pings (each bounded by
	// PingTimeout) is killed and restarted. Defaults 1 s, 2 s, 3.
	PingInterval time.Duration
	PingTimeout  time.Duration
	PingFailures int
	// ReadyTimeout bounds a worker's start until its first successful
	// /ping (model loaded); default 2 min.
	ReadyTimeout time.Duration
	// StartAttempts is how many times a worker may fail before it was
	// ever ready before Start gives up; default 3.
	StartAttempts int
	// StopGrace is the time between SIGTERM and SIGKILL; default 10 s.
	StopGrace time.Duration
	// BackoffMin and BackoffMax bound the exponential restart delay;
	// BackoffReset is how long a worker must stay up for the delay to
	// start again from BackoffMin. Defaults 250 ms, 30 s, 1 min.
	BackoffMin   time.Duration
	BackoffMax   time.Duration
	BackoffReset time.Duration
	// MultiModelMemoryFraction is the share of a multi-model worker's
	// memory its loaded models may hold (the worker answers 507 beyond
	// it); default 0.75.
	MultiModelMemoryFraction float64
	// Events receives worker lifecycle events; default none.
	Events serving.Events
	// Logger receives the supervisor's logs and the workers' output.
	Logger *slog.Logger
	// Now is the clock of events; default time.Now.
	Now func() time.Time
}

func (c *Config) setDefaults() {
	if c.InstanceTypes == nil {
		c.InstanceTypes = serving.DefaultInstanceTypes()
	}
	if c.UIDs.Count == 0 {
		c.UIDs = UIDRange{First: 2000000, Count: 100000}
	}
	if c.Network == "" {
		c.Network = NetworkAuto
	}
	if c.Nice == 0 {
		c.Nice = 5
	}
	if c.NoFile == 0 {
		c.NoFile = 4096
	}
	if c.NProc == 0 {
		c.NProc = 512
	}
	if c.PingInterval == 0 {
		c.PingInterval = time.Second
	}
	if c.PingTimeout == 0 {
		c.PingTimeout = 2 * time.Second
	}
	if c.PingFailures == 0 {
		c.PingFailures = 3
	}
	if c.ReadyTimeout == 0 {
		c.ReadyTimeout = 2 * time.Minute
	}
	if c.StartAttempts == 0 {
		c.StartAttempts = 3
	}
	if c.StopGrace == 0 {
		c.StopGrace = 10 * time.Second
	}
	if c.BackoffMin == 0 {
		c.BackoffMin = 250 * time.Millisecond
	}
	if c.BackoffMax == 0 {
		c.BackoffMax = 30 * time.Second
	}
	if c.BackoffReset == 0 {
		c.BackoffReset = time.Minute
	}
	if c.MultiModelMemoryFraction == 0 {
		c.MultiModelMemoryFraction = 0.75
	}
	if c.Events == nil {
		c.Events = serving.NopEvents{}
	}
	if c.Logger == nil {
		c.Logger = slog.New(slog.DiscardHandler)
	}
	if c.Now == nil {
		c.Now = time.Now
	}
	images := make(map[string]Image, len(c.Images)+1)
	for k, v := range c.Images {
		images[k] = v
	}
	if _, ok := images[""]; !ok {
		images[""] = Image{}
	}
	c.Images = images
}
