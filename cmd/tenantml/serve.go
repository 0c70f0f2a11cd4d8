package main

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"github.com/spf13/cobra"

	"github.com/tenantml/tenantml/api"
	"github.com/tenantml/tenantml/api/manage"
	apis3 "github.com/tenantml/tenantml/api/s3"
	apists "github.com/tenantml/tenantml/api/sts"
	"github.com/tenantml/tenantml/audit"
	"github.com/tenantml/tenantml/authn"
	"github.com/tenantml/tenantml/authn/sigv4"
	"github.com/tenantml/tenantml/authz"
	"github.com/tenantml/tenantml/identity"
	"github.com/tenantml/tenantml/keys"
	"github.com/tenantml/tenantml/store"
	"github.com/tenantml/tenantml/store/postgres"
	"github.com/tenantml/tenantml/store/sqlite"
	"github.com/tenantml/tenantml/sts"
)

func newServeCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "serve",
		Short: "Run the server: management API, IAM, STS, KMS, model serving (control plane, InvokeEndpoint, workers) and the audit log",
		Long: `Run tenantml on one machine. On embedded defaults it needs no other
service: SQLite metadata, a local master key and files, all under --data-dir.
The first start initialises the data directory and prints the operator's
root credentials once (unless TENANTML_ROOT_ACCESS_KEY_ID and
TENANTML_ROOT_SECRET_ACCESS_KEY are set).`,
		Example: "  tenantml serve --demo\n  tenantml serve\n  tenantml serve --data-dir /var/lib/tenantml --listen 0.0.0.0:8080\n  tenantml serve --store postgres://tenantml_app@db/tenantml --store-admin postgres://postgres@db/tenantml",
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			cfg, err := loadConfig(cmd.Flags(), os.Getenv)
			if err != nil {
				return err
			}
			s := &server{cfg: cfg, stdout: cmd.OutOrStdout(), stderr: cmd.ErrOrStderr(), rand: rand.Reader, now: time.Now}
			if err := s.open(cmd.Context()); err != nil {
				_ = s.close(context.Background())
				return err
			}
			if demo, _ := cmd.Flags().GetBool("demo"); demo {
				if err := s.runDemo(cmd.Context(), s.stdout); err != nil {
					_ = s.close(context.Background())
					return err
				}
			}
			return s.run(cmd.Context())
		},
	}
	addConfigFlags(cmd)
	cmd.Flags().Bool("demo", false, "onboard two demo tenants and show, through the IAM engine and the audit log, that no tenant can invoke another's model")
	return cmd
}

// server is one running tenantml serve: everything it opened, in the order
// it opened them, so that close can undo them in reverse.
type server struct {
	// credentials resolves access keys and session tokens (the SigV4
	// verifier's, and presigned artifact URLs' issuers).
	credentials authn.CredentialSource
	cfg         *config
	stdout      io.Writer // the generated root secret is printed here, once
	stderr      io.Writer // JSON logs
	rand        io.Reader
	now         func() time.Time

	log     *slog.Logger
	store   store.Store
	kek     keys.KEK
	kp      keyParts // serve_keys.go
	audit   *audit.Log
	root    identity.RootKey
	issuer  *sts.Issuer
	handler http.Handler
	// routes and aws are the assembled routes, kept so that suites can
	// enumerate every operation the server exposes.
	routes *api.Server
	aws    *api.AWSRouter
	s3     *apis3.Surface
	http   *http.Server
	ln     net.Listener

	// caches are the request path's caches of store reads, sealer the
	// audit log's field sealer and engine the authorizer: the store's
	// writes invalidate them (serve_cache.go).
	caches hotCaches
	sealer *auditSealer
	engine *authz.Engine
	// accounts are the deployment's further accounts (account.go).
	accounts *identity.Accounts
	// named are the named listeners beside ln (listener.go).
	named []namedListener

	auditWiring                // alerts (serve_audit.go)
	obs         observeParts   // metering, tenant metrics, tracing (serve_metering.go)
	sp          servingParts   // workers, endpoints, control plane (serve_serving.go)
	qp          quotaParts     // tiers, quotas, rate limits, admission (serve_quota.go)
	as          autoscaleParts // the autoscaler (serve_autoscale.go)
	pl          pipelineParts  // promotion pipelines (serve_pipelines.go)
	tlsWiring                  // HTTPS (serve_tls.go)
}

// open initialises the data directory and every component, and binds the
// listener; after open the server answers requests once run is called.
func (s *server) open(ctx context.Context) error {
	start := s.now()
	s.log = newLogger(s.stderr, s.cfg.LogLevel)
	if err := os.MkdirAll(s.cfg.DataDir, 0o700); err != nil {
		return fmt.Errorf("create data dir: %w", err)
	}
	kek, err := keys.OpenLocalKEK(filepath.Join(s.cfg.DataDir, "master.key"), s.rand)
	if err != nil {
		return fmt.Errorf("open master key: %w", err)
	}
	s.kek = kek
	db, err := openStore(ctx, s.cfg)
	if err != nil {
		return err
	}
	s.caches = newHotCaches(s.now)
	s.store = store.Watch(db, s.invalidate)
	// The keys come before the audit log: the log seals tenant events'
	// personal fields under the tenant's key (serve_seal.go).
	if err := s.openKeys(ctx); err != nil {
		return err
	}
	if err := s.openAlerts(); err != nil {
		return err
	}
	if err := s.openObserve(ctx); err != nil {
		return err
	}
	s.sealer = &auditSealer{keys: s.kp.keys, tenants: s.store.Tenants(), now: s.now}
	if s.audit, err = audit.Open(ctx, audit.Config{Dir: filepath.Join(s.cfg.DataDir, "audit"), Origin: "tenantml.audit/" + s.cfg.AccountID, Logger: s.log, Now: s.now, Observer: s.auditObserver(), Sealer: s.sealer}); err != nil {
		return fmt.Errorf("open audit log: %w", err)
	}
	root, generated, err := identity.BootstrapRoot(ctx, s.store.Secrets(), s.kek, identity.RootKey{AccessKeyID: s.cfg.RootAccessKeyID, Secret: []byte(s.cfg.RootSecretKey)}, s.rand)
	if err != nil {
		return fmt.Errorf("root credentials: %w", err)
	}
	s.root = root
	if generated {
		fmt.Fprintf(s.stdout, "Generated the operator's root credentials. They are shown only once; store them now:\n  export TENANTML_ACCESS_KEY_ID=%s\n  export TENANTML_SECRET_ACCESS_KEY=%s\n", root.AccessKeyID, root.Secret)
	} else if s.cfg.RootAccessKeyID == "" {
		fmt.Fprint(s.stdout, rootRecoveryHint(root.AccessKeyID, s.cfg))
	}
	ring, err := bootstrapSTSKeys(ctx, s.store.Secrets(), s.kek, s.rand)
	if err != nil {
		return err
	}
	s.issuer = &sts.Issuer{Keys: ring, Now: s.now, Rand: s.rand}
	if err := s.buildHandler(); err != nil {
		return err
	}
	if s.ln, err = net.Listen("tcp", s.cfg.Listen); err != nil {
		return fmt.Errorf("listen: %w", err)
	}
	if err := s.openListeners(); err != nil {
		return err
	}
	if err := s.openTLS(); err != nil {
		return err
	}
	s.http = &http.Server{
		Handler:           s.handler,
		ConnContext:       connContext,
		ReadHeaderTimeout: 10 * time.Second,
		IdleTimeout:       2 * time.Minute,
		ErrorLog:          slog.NewLogLogger(s.log.Handler(), slog.LevelWarn),
	}
	s.log.Info("tenantml ready", "listen", s.ln.Addr().String(), "dataDir", s.cfg.DataDir, "store", storeKind(s.cfg.Store), "region", s.cfg.Region, "startupMs", float64(s.now().Sub(start).Microseconds())/1000)
	return nil
}

func (s *server) buildHandler() error {
	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	metrics, err := api.NewMetrics(reg)
	if err != nil {
		return fmt.Errorf("register metrics: %w", err)
	}
	if err := registerAuditMetrics(reg, s.audit); err != nil {
		return fmt.Errorf("register metrics: %w", err)
	}
	if err := s.openQuotas(reg); err != nil {
		return err
	}
	srv := api.NewServer(s.log, metrics)
	srv.SetMaxBody(s.cfg.MaxBodyBytes)
	s.accounts = &identity.Accounts{Store: s.store.Accounts(), Secrets: s.store.Secrets(), KEK: s.kek, Primary: s.cfg.AccountID, Rand: s.rand, Now: s.now}
	longTerm := &cachedCredentials{Credentials: &identity.Credentials{Account: s.cfg.AccountID, Root: s.root, Users: s.store.Identity(), Sealer: s.kek, Accounts: s.accounts},
		revoked: s.caches.revoked, users: s.caches.users}
	sessions := &cachedSessions{inner: &sts.Source{Issuer: s.issuer, Revocations: longTerm}, cache: s.caches.sessions, now: s.now}
	s.credentials = authn.Sources{LongTerm: longTerm, Session: sessions}
	verifier := sigv4.NewVerifier(s.credentials)
	verifier.Now = s.now
	sigV4 := &api.SigV4Authenticator{Verifier: verifier}
	engine := s.newAuthorizer()
	s.engine = engine
	pipeline := &api.Pipeline{
		Authn:   &api.Authenticators{SigV4: sigV4, Basic: &api.RootAuthenticator{AccessKeyID: s.root.AccessKeyID, Secret: s.root.Secret, AccountID: s.cfg.AccountID}},
		Authz:   engine,
		Audit:   &api.AuditLog{Log: s.audit},
		Log:     s.log,
		Service: "tenantml",
		Region:  s.cfg.Region,
		Now:     s.now,
		Tenants: tenantGate{tenants: s.store.Tenants(), cache: s.caches.tenants},
		Admit:   admission{s.qp.admitter},
		Tracer:  s.obs.traces.Tracer(),
	}
	srv.Audit = pipeline.Audit // requests that match no route are audited too
	srv.Handle("GET /healthz", api.Live())
	srv.Handle("GET /readyz", api.Ready(map[string]api.Check{"store": s.store.Ping, "audit": func(context.Context) error { return s.audit.Healthy() }}))
	srv.Handle("GET /metrics", promhttp.HandlerFor(reg, promhttp.HandlerOpts{}))
	awsPipeline := *pipeline
	awsPipeline.Authn = &api.Authenticators{SigV4: sigV4}
	awsPipeline.Service = "" // each AWS service's own
	router := api.NewAWSRouter(&awsPipeline, apists.Protocol())
	s.registerAWS(router, &awsPipeline, engine)
	if err := s.openServing(context.Background(), engine, reg); err != nil {
		return err
	}
	s.registerServing(srv, router, &awsPipeline, pipeline)
	s.registerAutoscale(router, &awsPipeline)
	s.openAutoscale()
	s.routes, s.aws = srv, router
	srv.Handle("POST /{$}", router)
	srv.Handle("GET /{$}", router)
	(&manage.Tenants{Service: s.onboarding(s.store.Tenants()), Pipeline: pipeline, Region: s.cfg.Region, AccountID: s.cfg.AccountID}).Register(srv)
	(&manage.Accounts{Service: s.accounts, Pipeline: pipeline, Region: s.cfg.Region, AccountID: s.cfg.AccountID}).Register(srv)
	if err := s.registerAudit(context.Background(), srv, pipeline); err != nil {
		return err
	}
	s.registerKeys(srv, pipeline)
	s.registerQuotas(srv, pipeline)
	if err := s.registerArtifacts(context.Background(), srv, pipeline); err != nil {
		return err
	}
	if err := s.registerMetering(srv, pipeline, reg); err != nil {
		return err
	}
	s.registerS3(srv, &awsPipeline, engine)
	s.handler = srv
	return s.openPipelines(srv, pipeline)
}

// run serves until ctx is cancelled (SIGINT/SIGTERM), then stops accepting
// and drains in-flight requests for up to the shutdown timeout.
func (s *server) run(ctx context.Context) error {
	errc := make(chan error, 1)
	go func() { errc <- s.serve() }()
	select {
	case err := <-errc:
		_ = s.close(context.Background())
		return fmt.Errorf("serve: %w", err)
	case <-ctx.Done():
	}
	s.log.Info("shutting down", "drainTimeout", s.cfg.ShutdownTimeout.String())
	drain, cancel := context.WithTimeout(context.Background(), s.cfg.ShutdownTimeout)
	defer cancel()
	err := s.http.Shutdown(drain)
	if cerr := s.close(drain); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("shutdown: %w", err)
	}
	s.log.Info("stopped")
	return nil
}

// close releases what open acquired, keeping every error.
func (s *server) close(ctx context.Context) error {
	var errs []error
	s.closeTLS()
	if s.ln != nil && s.http == nil {
		errs = append(errs, s.ln.Close())
		for _, n := range s.named {
			errs = append(errs, n.Close())
		}
	}
	s.closeAutoscale()
	s.closePipelines()
	errs = append(errs, s.closeServing(ctx))
	errs = append(errs, s.closeMetering(ctx))
	if s.audit != nil {
		errs = append(errs, s.closeAlerts(ctx))
		errs = append(errs, s.audit.Close(ctx))
	}
	errs = append(errs, s.closeKeys(ctx), s.closeQuotas())
	if s.store != nil {
		errs = append(errs, s.store.Close())
	}
	return errors.Join(errs...)
}

func openStore(ctx context.Context, cfg *config) (store.Store, error) {
	switch {
	case cfg.Store == "":
		db, err := sqlite.Open(ctx, filepath.Join(cfg.DataDir, "metadata.db"))
		if err != nil {
			return nil, fmt.Errorf("open store: %w", err)
		}
		return db, nil
	case strings.HasPrefix(cfg.Store, "postgres://"), strings.HasPrefix(cfg.Store, "postgresql://"):
		db, err := postgres.Open(ctx, postgres.Config{URL: cfg.Store, AdminURL: cfg.StoreAdmin})
		if err != nil {
			return nil, fmt.Errorf("open store: %w", err)
		}
		return db, nil
	default:
		return nil, fmt.Errorf("store %q: want empty (SQLite in the data dir) or a postgres:// URL", redactURLPassword(cfg.Store))
	}
}

func storeKind(url string) string {
	if strings.HasPrefix(url, "postgres") {
		return "postgres"
	}
	return "sqlite"
}

func newLogger(w io.Writer, level string) *slog.Logger {
	var l slog.Level
	_ = l.UnmarshalText([]byte(level)) // validated by config
	return slog.New(slog.NewJSONHandler(w, &slog.HandlerOptions{Level: l}))
}

// registerAuditMetrics exposes the audit log's counters. They carry no
// tenant label: a tenant's activity is not visible in metrics.
func registerAuditMetrics(reg prometheus.Registerer, log *audit.Log) error {
	counter := func(name, help string, v func(audit.Stats) uint64) prometheus.Collector {
		return prometheus.NewCounterFunc(prometheus.CounterOpts{Name: name, Help: help}, func() float64 { return float64(v(log.Stats())) })
	}
	gauge := func(name, help string, v func(audit.Stats) float64) prometheus.Collector {
		return prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: name, Help: help}, func() float64 { return v(log.Stats()) })
	}
	for _, c := range []prometheus.Collector{
		counter("tenantml_audit_events_appended_total", "Audit events durably appended since start.", func(s audit.Stats) uint64 { return s.Appended }),
		counter("tenantml_audit_append_failures_total", "Audit appends that failed (requests refused with 503).", func(s audit.Stats) uint64 { return s.AppendFailures }),
		counter("tenantml_audit_group_commits_total", "Audit group commits (one fsync each).", func(s audit.Stats) uint64 { return s.Batches }),
		gauge("tenantml_audit_tree_size", "Events in the audit log.", func(s audit.Stats) float64 { return float64(s.TreeSize) }),
		gauge("tenantml_audit_checkpoint_size", "Tree size of the latest signed checkpoint.", func(s audit.Stats) float64 { return float64(s.CheckpointSize) }),
		gauge("tenantml_audit_healthy", "1 while the audit log accepts writes, 0 while requests fail closed.", func(s audit.Stats) float64 {
			if s.Healthy {
				return 1
			}
			return 0
		}),
	} {
		if err := reg.Register(c); err != nil {
			return err
		}
	}
	return nil
}
