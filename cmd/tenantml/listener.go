package main

import (
	"context"
	"fmt"
	"net"
	"sort"
	"strings"

	"github.com/tenantml/tenantml/api"
	"github.com/tenantml/tenantml/authz"
)

// listenerSetting is --listener name=N,addr=HOST:PORT,vpce=vpce-...[,vpc=vpc-...]
// (repeatable): a further listener standing for a VPC endpoint.
func listenerSetting() setting {
	return setting{name: "listener", multi: true,
		help: "further listener name=NAME,addr=HOST:PORT,vpce=vpce-ID[,vpc=vpc-ID]: requests on it carry aws:SourceVpce (and aws:SourceVpc) for policy conditions; requests on --listen carry neither",
		set: func(c *config, v string) error {
			ls, err := parseListeners(v)
			if err != nil {
				return err
			}
			c.Listeners = ls
			return nil
		},
		get: func(c *config) string { return formatListeners(c.Listeners) }}
}

// parseListeners parses ;-separated listener specs.
func parseListeners(v string) ([]api.Listener, error) {
	var out []api.Listener
	seen := map[string]bool{}
	for _, spec := range strings.Split(v, ";") {
		spec = strings.TrimSpace(spec)
		if spec == "" {
			continue
		}
		var l api.Listener
		for _, kv := range strings.Split(spec, ",") {
			k, val, ok := strings.Cut(strings.TrimSpace(kv), "=")
			if !ok {
				return nil, fmt.Errorf("listener %q: %q is not key=value", spec, kv)
			}
			switch k {
			case "name":
				l.Name = val
			case "addr":
				l.Addr = val
			case "vpce":
				l.VPCEndpoint = val
			case "vpc":
				l.VPC = val
			default:
				return nil, fmt.Errorf("listener %q: unknown key %q (want name, addr, vpce, vpc)", spec, k)
			}
		}
		if err := l.Validate(); err != nil {
			return nil, err
		}
		if seen[l.Name] {
			return nil, fmt.Errorf("listener name %q is given twice", l.Name)
		}
		seen[l.Name] = true
		out = append(out, l)
	}
	return out, nil
}

func formatListeners(ls []api.Listener) string {
	specs := make([]string, len(ls))
	for i, l := range ls {
		specs[i] = "name=" + l.Name + ",addr=" + l.Addr + ",vpce=" + l.VPCEndpoint
		if l.VPC != "" {
			specs[i] += ",vpc=" + l.VPC
		}
	}
	return strings.Join(specs, ";")
}

// multiValue turns a configuration file's value of a repeatable setting —
// a string, a list of strings, or a list of maps — into its ;-joined text.
func multiValue(v any) (string, error) {
	list, ok := v.([]any)
	if !ok {
		return fmt.Sprint(v), nil
	}
	parts := make([]string, 0, len(list))
	for _, e := range list {
		switch e := e.(type) {
		case string:
			parts = append(parts, e)
		case map[string]any:
			keys := make([]string, 0, len(e))
			for k := range e {
				keys = append(keys, k)
			}
			sort.Strings(keys)
			kvs := make([]string, len(keys))
			for i, k := range keys {
				kvs[i] = k + "=" + fmt.Sprint(e[k])
			}
			parts = append(parts, strings.Join(kvs, ","))
		default:
			return "", fmt.Errorf("entry %v is neither a string nor a map", e)
		}
	}
	return strings.Join(parts, ";"), nil
}

// openListeners binds the named listeners.
func (s *server) openListeners() error {
	for i := range s.cfg.Listeners {
		l := &s.cfg.Listeners[i]
		ln, err := net.Listen("tcp", l.Addr)
		if err != nil {
			return fmt.Errorf("listen %s: %w", l.Name, err)
		}
		s.named = append(s.named, namedListener{Listener: ln, spec: l})
		s.log.Info("listener ready", "name", l.Name, "listen", ln.Addr().String(), "vpce", l.VPCEndpoint, "vpc", l.VPC)
	}
	return nil
}

// namedListener is a bound named listener: it marks the connections it
// accepts with its settings.
type namedListener struct {
	net.Listener
	spec *api.Listener
}

// Accept implements net.Listener.
func (n namedListener) Accept() (net.Conn, error) {
	c, err := n.Listener.Accept()
	if err != nil {
		return nil, err
	}
	return markedConn{Conn: c, spec: n.spec}, nil
}

// markedConn is a connection accepted on a named listener.
type markedConn struct {
	net.Conn
	spec *api.Listener
}

// connContext puts the named listener a connection was accepted on into
// its requests' context (http.Server.ConnContext); the default listener's
// connections get none.
func connContext(ctx context.Context, c net.Conn) context.Context {
	for {
		if m, ok := c.(markedConn); ok {
			return authz.WithNetwork(ctx, m.spec.Network())
		}
		u, ok := c.(interface{ NetConn() net.Conn }) // *tls.Conn
		if !ok {
			return ctx
		}
		c = u.NetConn()
	}
}
