#!/usr/bin/env bash
# Runs a benchmark command with the CPU priority it needs on a shared
# machine: in a new session whose scheduler autogroup has nice -19, the
# command itself at nice -19.
#
#   scripts/bench-prio.sh go run ./bench/artifact -size 256 -runs 7
#
# Why a new session: with kernel.sched_autogroup_enabled=1 (the default on
# most distributions, and on the development machines) the scheduler first
# shares the CPUs between sessions and only then between the processes of
# one session, so `nice -n -19 CMD` ranks CMD against its own shell only
# and every other session still gets its equal share. A benchmark that
# compares a one-core read with a two-core one then measures its
# neighbours: on 2 vCPUs shared with other sessions, the parallel read
# gets about one core while the plain read loses nothing. Needs root (a
# negative nice); without it, runs the command at the priority it has.
set -euo pipefail
if [ $# -eq 0 ]; then
  echo "usage: scripts/bench-prio.sh COMMAND [ARGS...]" >&2
  exit 2
fi
if [ "$(id -u)" != 0 ]; then
  echo "bench-prio: not root, running without raised priority (figures will include other sessions' load)" >&2
  exec "$@"
fi
if [ "$(cat /proc/sys/kernel/sched_autogroup_enabled 2>/dev/null || echo 0)" = 1 ]; then
  exec setsid --wait bash -c 'echo -19 > /proc/$$/autogroup && exec nice -n -19 "$@"' bench-prio "$@"
fi
exec nice -n -19 "$@"
