package serving

import (
	"fmt"
	"sort"
)

// GiB is 2^30 bytes, the unit instance memory is published in.
const GiB = 1 << 30

// InstanceType is the size of one worker: the vCPUs and memory a variant's
// InstanceType grants each of its instances. A backend turns it into limits
// (cgroup memory.max and cpu.max, or RLIMIT_DATA and nice, or a
// Kubernetes container's resources).
type InstanceType struct {
	// Name is the managed cloud's instance type name, e.g. "ml.m5.large".
	Name string
	// VCPU is the number of virtual CPUs.
	VCPU int
	// MemoryBytes is the memory limit of one worker.
	MemoryBytes int64
}

// Validate reports whether t is usable as a worker size.
func (t InstanceType) Validate() error {
	switch {
	case t.Name == "":
		return fmt.Errorf("instance type: empty name")
	case t.VCPU <= 0:
		return fmt.Errorf("instance type %s: vcpu %d, want > 0", t.Name, t.VCPU)
	case t.MemoryBytes <= 0:
		return fmt.Errorf("instance type %s: memory %d, want > 0", t.Name, t.MemoryBytes)
	}
	return nil
}

// InstanceTypes is a table of instance types by name.
type InstanceTypes map[string]InstanceType

// Lookup returns the instance type called name.
func (ts InstanceTypes) Lookup(name string) (InstanceType, error) {
	t, ok := ts[name]
	if !ok {
		return InstanceType{}, fmt.Errorf("%w: %q", ErrUnknownInstanceType, name)
	}
	return t, nil
}

// Names returns the table's names in sorted order.
func (ts InstanceTypes) Names() []string {
	names := make([]string, 0, len(ts))
	for n := range ts {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}

// DefaultInstanceTypes returns the CPU instance types a variant may name, with
// the vCPUs and memory the managed cloud publishes for them. GPU types are
// not offered: workers run on the CPU. The table is a fresh copy; callers may
// extend it (e.g. with a site's own sizes) before handing it to a backend.
func DefaultInstanceTypes() InstanceTypes {
	ts := InstanceTypes{}
	for _, t := range []InstanceType{
		{"ml.t2.medium", 2, 4 * GiB},
		{"ml.t2.large", 2, 8 * GiB},
		{"ml.t2.xlarge", 4, 16 * GiB},
		{"ml.t2.2xlarge", 8, 32 * GiB},
		{"ml.m4.xlarge", 4, 16 * GiB},
		{"ml.m4.2xlarge", 8, 32 * GiB},
		{"ml.m5.large", 2, 8 * GiB},
		{"ml.m5.xlarge", 4, 16 * GiB},
		{"ml.m5.2xlarge", 8, 32 * GiB},
		{"ml.m5.4xlarge", 16, 64 * GiB},
		{"ml.m5.12xlarge", 48, 192 * GiB},
		{"ml.m5.24xlarge", 96, 384 * GiB},
		{"ml.m6i.large", 2, 8 * GiB},
		{"ml.m6i.xlarge", 4, 16 * GiB},
		{"ml.c5.large", 2, 4 * GiB},
		{"ml.c5.xlarge", 4, 8 * GiB},
		{"ml.c5.2xlarge", 8, 16 * GiB},
		{"ml.c5.4xlarge", 16, 32 * GiB},
		{"ml.c5.9xlarge", 36, 72 * GiB},
		{"ml.c5.18xlarge", 72, 144 * GiB},
		{"ml.c6i.large", 2, 4 * GiB},
		{"ml.c6i.xlarge", 4, 8 * GiB},
		{"ml.r5.large", 2, 16 * GiB},
		{"ml.r5.xlarge", 4, 32 * GiB},
		{"ml.r5.2xlarge", 8, 64 * GiB},
	} {
		ts[t.Name] = t
	}
	return ts
}
