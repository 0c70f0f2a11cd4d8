package main

import (
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
	"gopkg.in/yaml.v3"

	"github.com/tenantml/tenantml/api"
)

// config is the server configuration. Every field can come from a flag, a
// TENANTML_* environment variable or the YAML file given by --config, in
// that order of precedence, over the defaults below.
type config struct {
	DataDir         string
	Listen          string
	Region          string
	AccountID       string
	Store           string
	StoreAdmin      string
	Blob            string
	ArtifactRehash  bool
	LogLevel        string
	ShutdownTimeout time.Duration
	MaxBodyBytes    int64
	// MaxArtifactBytes bounds an artifact upload's body.
	MaxArtifactBytes int64
	RootAccessKeyID  string
	RootSecretKey    string
	// AlertWebhookURL and AlertWebhookSecret configure audit alerts
	// (serve_audit.go).
	AlertWebhookURL, AlertWebhookSecret string
	// TLSCert, TLSKey and TLSSelfSigned turn on HTTPS (serve_tls.go).
	TLSCert, TLSKey string
	TLSSelfSigned   bool
	// GatewayIssuer is the OpenID Connect issuer whose tokens the tenant
	// gateway accepts (serve_serving.go); "" turns the gateway off.
	GatewayIssuer string
	// ModelBucket is where `model deploy` stores tenants' models.
	ModelBucket string
	// WorkerRunDir is where workers' private directories are created.
	WorkerRunDir string
	// WorkerExecutable is the tenantml binary workers run; default this
	// process's own executable.
	WorkerExecutable string
	// RateLimit is the Redis URL that shares rate limits between
	// gateways; "" keeps them in process (serve_quota.go).
	RateLimit string
	// RateLimitFailure is what happens while Redis is unreachable: open
	// (local limits) or closed (rated requests refused).
	RateLimitFailure string
	// PoolCacheBytes is what each pool worker's models may hold; 0 means
	// 60% of the pool instance's memory.
	PoolCacheBytes int64
	// Listeners are the named listeners beside Listen, each standing for
	// a VPC endpoint (listener.go).
	Listeners []api.Listener
	// meteringConfig configures metering, tenant metrics and tracing
	// (serve_metering.go).
	meteringConfig
	// autoscaleConfig configures the autoscaler (serve_autoscale.go).
	autoscaleConfig
}

// setting describes one configuration field in all its spellings.
type setting struct {
	name   string // flag name and YAML key
	help   string
	secret bool   // redacted by config show
	noFlag bool   // secrets are never taken from flags (they would show in ps)
	isBool bool   // the bare flag means true
	multi  bool   // a repeatable flag; its values (and a file's list) are joined with ";"
	def    string // default as text
	set    func(c *config, v string) error
	get    func(c *config) string
}

func (s setting) env() string {
	return "TENANTML_" + strings.ToUpper(strings.ReplaceAll(s.name, "-", "_"))
}

func stringSetting(name, def, help string, field func(*config) *string) setting {
	return setting{name: name, def: def, help: help,
		set: func(c *config, v string) error { *field(c) = v; return nil },
		get: func(c *config) string { return *field(c) }}
}

// boolSetting is a setting spelled true or false.
func boolSetting(name, def, help string, field func(*config) *bool) setting {
	return setting{name: name, def: def, help: help, isBool: true,
		set: func(c *config, v string) error {
			b, err := strconv.ParseBool(v)
			if err != nil {
				return fmt.Errorf("%s %q is not true or false", name, v)
			}
			*field(c) = b
			return nil
		},
		get: func(c *config) string { return strconv.FormatBool(*field(c)) }}
}

func settings() []setting {
	return append([]setting{
		stringSetting("gateway-issuer", "", "OpenID Connect issuer URL (registered with iam create-open-id-connect-provider, claim mapping to TenantID) whose tokens the tenant gateway POST /tenant/v1/invocations accepts; empty turns the gateway off", func(c *config) *string { return &c.GatewayIssuer }),
		{name: "ratelimit", help: "redis://[:password@]host:port[/db] whose Redis shares the rate limits of every gateway; empty keeps them in process (set a password through TENANTML_RATELIMIT, not the flag)",
			set: func(c *config, v string) error { c.RateLimit = v; return nil }, get: func(c *config) string { return redactURLPassword(c.RateLimit) }},
		stringSetting("ratelimit-failure", "open", "while the ratelimit Redis is unreachable: open (each gateway enforces the limits on its own) or closed (rated requests are refused with 503)", func(c *config) *string { return &c.RateLimitFailure }),
		stringSetting("model-bucket", "tenantml-models", "bucket `model deploy` stores tenants' models in", func(c *config) *string { return &c.ModelBucket }),
		stringSetting("worker-executable", "", "tenantml binary the workers run (tenantml worker); default this server's own executable", func(c *config) *string { return &c.WorkerExecutable }),
		stringSetting("worker-run-dir", "", "directory of the workers' private model directories (default /dev/shm, a tmpfs)", func(c *config) *string { return &c.WorkerRunDir }),
		{name: "pool-cache-bytes", def: "0", help: "bytes of models each multi-model (pool) worker may hold; 0 means 60% of the pool instance type's memory",
			set: func(c *config, v string) error {
				n, err := strconv.ParseInt(v, 10, 64)
				if err != nil || n < 0 {
					return fmt.Errorf("pool-cache-bytes %q is not a non-negative integer", v)
				}
				c.PoolCacheBytes = n
				return nil
			}, get: func(c *config) string { return strconv.FormatInt(c.PoolCacheBytes, 10) }},
		stringSetting("data-dir", "./tenantml-data", "directory for the embedded database, master key, blobs and audit log", func(c *config) *string { return &c.DataDir }),
		stringSetting("listen", "127.0.0.1:8080", "address the API listens on", func(c *config) *string { return &c.Listen }),
		listenerSetting(),
		stringSetting("region", "us-east-1", "region name used in ARNs and SigV4 scopes", func(c *config) *string { return &c.Region }),
		stringSetting("account-id", "000000000000", "12-digit ID of the operator's account", func(c *config) *string { return &c.AccountID }),
		stringSetting("store", "", "metadata store: empty for SQLite in the data dir, or postgres://user@host/db", func(c *config) *string { return &c.Store }),
		{name: "store-admin", secret: true, help: "optional postgres:// URL of the owner role that runs migrations and creates the app role",
			set: func(c *config, v string) error { c.StoreAdmin = v; return nil }, get: func(c *config) string { return c.StoreAdmin }},
		stringSetting("blob", "", "artifact storage URL: empty for files under <data-dir>/blobs, or s3://bucket?endpoint=http://host:9000&region=us-east-1&use_path_style=true", func(c *config) *string { return &c.Blob }),
		boolSetting("artifact-rehash", "false", "recompute every artifact's SHA-256 on each read, an independent check beside the AEAD (reads then run at one core's SHA-256 speed)", func(c *config) *bool { return &c.ArtifactRehash }),
		stringSetting("log-level", "info", "log level: debug, info, warn, error", func(c *config) *string { return &c.LogLevel }),
		{name: "shutdown-timeout", def: "30s", help: "how long a graceful shutdown drains in-flight requests",
			set: func(c *config, v string) error {
				d, err := time.ParseDuration(v)
				if err != nil || d <= 0 {
					return fmt.Errorf("shutdown-timeout %q is not a positive duration", v)
				}
				c.ShutdownTimeout = d
				return nil
			}, get: func(c *config) string { return c.ShutdownTimeout.String() }},
		{name: "max-body-bytes", def: "1048576", help: "body limit of the control-plane APIs",
			set: func(c *config, v string) error {
				n, err := strconv.ParseInt(v, 10, 64)
				if err != nil || n <= 0 {
					return fmt.Errorf("max-body-bytes %q is not a positive integer", v)
				}
				c.MaxBodyBytes = n
				return nil
			}, get: func(c *config) string { return strconv.FormatInt(c.MaxBodyBytes, 10) }},
		{name: "max-artifact-bytes", def: "68719476736", help: "body limit of an artifact upload (PUT .../artifacts/...); larger uploads get 413 and store nothing",
			set: func(c *config, v string) error {
				n, err := strconv.ParseInt(v, 10, 64)
				if err != nil || n <= 0 {
					return fmt.Errorf("max-artifact-bytes %q is not a positive integer", v)
				}
				c.MaxArtifactBytes = n
				return nil
			}, get: func(c *config) string { return strconv.FormatInt(c.MaxArtifactBytes, 10) }},
		{name: "root-access-key-id", noFlag: true, help: "operator root access key ID used on first start (generated when unset)",
			set: func(c *config, v string) error { c.RootAccessKeyID = v; return nil }, get: func(c *config) string { return c.RootAccessKeyID }},
		{name: "root-secret-access-key", noFlag: true, secret: true, help: "operator root secret used on first start (generated when unset)",
			set: func(c *config, v string) error { c.RootSecretKey = v; return nil }, get: func(c *config) string { return c.RootSecretKey }},
		stringSetting("alert-webhook-url", "", "URL that receives audit alerts (default rules) as HMAC-signed JSON POSTs; empty turns alerts off", func(c *config) *string { return &c.AlertWebhookURL }),
		{name: "alert-webhook-secret", noFlag: true, secret: true, help: "HMAC-SHA256 key signing alert webhook deliveries; required with alert-webhook-url",
			set: func(c *config, v string) error { c.AlertWebhookSecret = v; return nil }, get: func(c *config) string { return c.AlertWebhookSecret }},
		stringSetting("tls-cert", "", "PEM certificate (chain) file: serve HTTPS with tls-key; reloaded on SIGHUP and when the file changes", func(c *config) *string { return &c.TLSCert }),
		stringSetting("tls-key", "", "PEM private key file of tls-cert", func(c *config) *string { return &c.TLSKey }),
		boolSetting("tls-self-signed", "false", "serve HTTPS with a self-signed certificate generated once into <data-dir>/tls (for a laptop; clients pass it as --ca-bundle)", func(c *config) *bool { return &c.TLSSelfSigned }),
	}, append(meteringSettings(), autoscaleSettings()...)...)
}

// addConfigFlags registers --config and one flag per setting on cmd.
func addConfigFlags(cmd *cobra.Command) {
	cmd.Flags().String("config", "", "YAML configuration file (keys as the flag names); env TENANTML_CONFIG")
	for _, s := range settings() {
		if s.noFlag {
			continue
		}
		if s.multi {
			cmd.Flags().StringArray(s.name, nil, fmt.Sprintf("%s (repeatable; env %s, entries separated by ;)", s.help, s.env()))
			continue
		}
		cmd.Flags().String(s.name, "", fmt.Sprintf("%s (env %s, default %q)", s.help, s.env(), s.def))
		if s.isBool {
			cmd.Flags().Lookup(s.name).NoOptDefVal = "true"
		}
	}
}

// loadConfig resolves the configuration: flag > env > file > default.
func loadConfig(flags *pflag.FlagSet, getenv func(string) string) (*config, error) {
	c := &config{}
	all := settings()
	for _, s := range all {
		if err := s.set(c, s.def); err != nil {
			return nil, err
		}
	}
	path, _ := flags.GetString("config")
	if path == "" {
		path = getenv("TENANTML_CONFIG")
	}
	if path != "" {
		if err := applyFile(c, all, path); err != nil {
			return nil, err
		}
	}
	for _, s := range all {
		if v := getenv(s.env()); v != "" {
			if err := s.set(c, v); err != nil {
				return nil, fmt.Errorf("%s: %w", s.env(), err)
			}
		}
		if f := flags.Lookup(s.name); f != nil && f.Changed {
			v := f.Value.String()
			if s.multi {
				vs, _ := flags.GetStringArray(s.name)
				v = strings.Join(vs, ";")
			}
			if err := s.set(c, v); err != nil {
				return nil, fmt.Errorf("--%s: %w", s.name, err)
			}
		}
	}
	return c, c.validate()
}

func applyFile(c *config, all []setting, path string) error {
	data, err := os.ReadFile(path)
	if err != nil {
		return fmt.Errorf("read config: %w", err)
	}
	var raw map[string]any
	if err := yaml.Unmarshal(data, &raw); err != nil {
		return fmt.Errorf("parse config %s: %w", path, err)
	}
	known := map[string]setting{}
	for _, s := range all {
		known[s.name] = s
	}
	for k, v := range raw {
		s, ok := known[k]
		if !ok {
			return fmt.Errorf("config %s: unknown key %q", path, k)
		}
		text := fmt.Sprint(v)
		if s.multi {
			if text, err = multiValue(v); err != nil {
				return fmt.Errorf("config %s: %s: %w", path, k, err)
			}
		}
		if err := s.set(c, text); err != nil {
			return fmt.Errorf("config %s: %w", path, err)
		}
	}
	return nil
}

func (c *config) validate() error {
	if len(c.AccountID) != 12 || strings.Trim(c.AccountID, "0123456789") != "" {
		return fmt.Errorf("account-id %q must be 12 digits", c.AccountID)
	}
	if c.DataDir == "" {
		return fmt.Errorf("data-dir must not be empty")
	}
	if (c.RootAccessKeyID == "") != (c.RootSecretKey == "") {
		return fmt.Errorf("set both TENANTML_ROOT_ACCESS_KEY_ID and TENANTML_ROOT_SECRET_ACCESS_KEY, or neither")
	}
	if (c.TLSCert == "") != (c.TLSKey == "") {
		return fmt.Errorf("set both tls-cert and tls-key, or neither")
	}
	if c.TLSSelfSigned && c.TLSCert != "" {
		return fmt.Errorf("tls-self-signed and tls-cert exclude each other")
	}
	if c.RateLimitFailure != "open" && c.RateLimitFailure != "closed" {
		return fmt.Errorf("ratelimit-failure %q must be open or closed", c.RateLimitFailure)
	}
	if c.RateLimit != "" && !strings.HasPrefix(c.RateLimit, "redis://") && !strings.HasPrefix(c.RateLimit, "rediss://") {
		return fmt.Errorf("ratelimit must be a redis:// or rediss:// URL")
	}
	switch c.LogLevel {
	case "debug", "info", "warn", "error":
	default:
		return fmt.Errorf("log-level %q must be debug, info, warn or error", c.LogLevel)
	}
	return nil
}

// redacted returns the configuration as YAML-ready key/values with secrets
// replaced.
func (c *config) redacted() yaml.Node {
	var n yaml.Node
	n.Kind = yaml.MappingNode
	for _, s := range settings() {
		v := s.get(c)
		if s.secret && v != "" {
			v = "REDACTED"
		}
		if s.name == "store" {
			v = redactURLPassword(v)
		}
		n.Content = append(n.Content,
			&yaml.Node{Kind: yaml.ScalarNode, Value: s.name},
			&yaml.Node{Kind: yaml.ScalarNode, Value: v, Style: yaml.DoubleQuotedStyle})
	}
	return n
}

// redactURLPassword hides the password of a connection URL.
func redactURLPassword(u string) string {
	at := strings.LastIndex(u, "@")
	scheme := strings.Index(u, "://")
	if at < 0 || scheme < 0 || at < scheme {
		return u
	}
	userinfo := u[scheme+3 : at]
	if i := strings.Index(userinfo, ":"); i >= 0 {
		return u[:scheme+3] + userinfo[:i] + ":REDACTED" + u[at:]
	}
	return u
}

func newConfigCmd() *cobra.Command {
	cmd := &cobra.Command{Use: "config", Short: "Inspect the server configuration"}
	show := &cobra.Command{
		Use:     "show",
		Short:   "Print the resolved configuration with secrets redacted",
		Long:    "Print the configuration tenantml serve would use, resolved from flags, TENANTML_* environment variables, the --config file and defaults (in that order of precedence). Secrets are redacted.",
		Example: "  tenantml config show\n  TENANTML_LISTEN=0.0.0.0:9000 tenantml config show --config /etc/tenantml.yaml\n  tenantml config show -o json",
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			c, err := loadConfig(cmd.Flags(), os.Getenv)
			if err != nil {
				return err
			}
			n := c.redacted()
			format, err := outputFormat(cmd)
			if err != nil {
				return err
			}
			if format == "yaml" { // in setting order, as a --config file
				enc := yaml.NewEncoder(cmd.OutOrStdout())
				defer enc.Close()
				return enc.Encode(&n)
			}
			doc := map[string]string{}
			for i := 0; i+1 < len(n.Content); i += 2 {
				doc[n.Content[i].Value] = n.Content[i+1].Value
			}
			return printOutput(cmd, doc, func(w io.Writer) error {
				fmt.Fprintln(w, "SETTING\tVALUE")
				for i := 0; i+1 < len(n.Content); i += 2 {
					fmt.Fprintf(w, "%s\t%s\n", n.Content[i].Value, n.Content[i+1].Value)
				}
				return nil
			})
		},
	}
	addConfigFlags(show)
	show.Flags().StringP("output", "o", "yaml", "output format: yaml (a --config file), json or table")
	cmd.AddCommand(show)
	return cmd
}
