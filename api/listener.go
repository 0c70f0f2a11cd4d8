package api

import (
	"fmt"
	"net"
	"regexp"

	"github.com/tenantml/tenantml/authz"
)

// Listener is a named listener of a server. A named listener
// stands for a VPC endpoint: requests on it carry aws:SourceVpce (and
// aws:SourceVpc when VPC is set) in their request context, as requests
// through an interface VPC endpoint do on AWS. Requests on the default
// listener carry neither, so a policy denying StringNotEquals
// aws:SourceVpce denies them.
type Listener struct {
	// Name identifies the listener in logs.
	Name string
	// Addr is the address it listens on (host:port).
	Addr string
	// VPCEndpoint is the VPC endpoint ID (vpce-...), VPC the VPC ID
	// (vpc-...; optional).
	VPCEndpoint, VPC string
}

var (
	listenerNamePattern = regexp.MustCompile(`^[a-z0-9][a-z0-9-]{0,62}$`)
	vpcePattern         = regexp.MustCompile(`^vpce-[0-9a-f]{8,17}$`)
	vpcPattern          = regexp.MustCompile(`^vpc-[0-9a-f]{8,17}$`)
)

// Validate checks the listener's settings.
func (l Listener) Validate() error {
	if !listenerNamePattern.MatchString(l.Name) {
		return fmt.Errorf("listener name %q must be 1 to 63 lower-case letters, digits and hyphens", l.Name)
	}
	if _, _, err := net.SplitHostPort(l.Addr); err != nil {
		return fmt.Errorf("listener %s: addr %q is not host:port", l.Name, l.Addr)
	}
	if !vpcePattern.MatchString(l.VPCEndpoint) {
		return fmt.Errorf("listener %s: vpce %q must be a VPC endpoint ID such as vpce-0abc1234def567890", l.Name, l.VPCEndpoint)
	}
	if l.VPC != "" && !vpcPattern.MatchString(l.VPC) {
		return fmt.Errorf("listener %s: vpc %q must be a VPC ID such as vpc-0123456789abcdef0", l.Name, l.VPC)
	}
	return nil
}

// Network is the network path of the listener's requests.
func (l Listener) Network() authz.Network {
	return authz.Network{VPCEndpoint: l.VPCEndpoint, VPC: l.VPC}
}
