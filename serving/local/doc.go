// Package local is the serving.Backend of a single machine: a Supervisor
// that runs every worker as a child process, isolated from the others, and
// keeps it running.
//
// # Process model
//
// For each variant the Supervisor starts InstanceCount workers, each
// through the hidden `tenantml sandbox` helper, which applies the limits a
// process can only set on itself and then executes the worker's command
// (the native `tenantml worker`, or a registered Image). Each worker:
//
//   - runs as its own user when the supervisor is root: one uid per silo
//     or bridge tenant and one per pool endpoint, from Config.UIDs, never
//     reused while the supervisor runs; no supplementary groups;
//     no_new_privs; no core dumps;
//   - gets new network and IPC namespaces where the kernel allows it (root,
//     or a user namespace otherwise): only a loopback that is down, so it
//     can reach nothing but its Unix socket;
//   - has memory and CPU limits from its InstanceType: cgroup v2
//     memory.max (swap 0) and cpu.max where a delegated cgroup v2 with the
//     memory and cpu controllers is available, else RLIMIT_DATA and a nice
//     value (plus GOMEMLIMIT and GOMAXPROCS for the native worker), and
//     RLIMIT_NOFILE and, with its own user, RLIMIT_NPROC;
//   - has a private directory (0700, owned by its user) under a 0711
//     directory on /dev/shm: its Unix socket (0600), its HOME and TMPDIR,
//     and the model delivered to it; a clean environment (none of the
//     supervisor's variables);
//   - is in its own process group, killed with the supervisor (pdeathsig).
//
// # Model delivery
//
// Before a single-model worker starts, the variant's Opener is streamed
// into model/ of its private directory (as is, or unpacked as the managed
// cloud unpacks model.tar.gz for images that need it, with the archive
// rules of runtime: no links, devices, absolute or ".." names; bounded by
// the instance's memory). The worker loads it before answering /ping, and
// the supervisor then deletes the copy: the plaintext remains only in that
// worker's memory. A multi-model worker gets each model the same way in
// models/<name>/ just before POST /models, deleted once loaded. Keys never
// leave the supervisor's process; no other tenant's file is ever in a
// worker's directory, and other workers cannot read it.
//
// # Health
//
// A worker is ready when GET /ping answers. A worker that misses
// PingFailures consecutive pings is killed (process group) and restarted;
// one that exits is restarted; restarts back off exponentially from
// BackoffMin to BackoffMax, starting over after BackoffReset of health.
// Start fails (serving.ErrStartFailed, with the worker's last words) when
// a worker fails StartAttempts times before it was ever ready. Every
// start, ready, unhealthy, exit and stop is a serving.Event.
package local
