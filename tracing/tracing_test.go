package tracing_test

import (
	"context"
	"strings"
	"testing"

	"github.com/tenantml/tenantml/tracing"
)

func TestOpen(t *testing.T) {
	tests := []struct {
		name      string
		cfg       tracing.Config
		wantErr   string
		recording bool
	}{
		{"Off", tracing.Config{}, "", false},
		{"HTTP", tracing.Config{Endpoint: "http://127.0.0.1:4318"}, "", true},
		{"HTTPSWithPath", tracing.Config{Endpoint: "https://collector.example:4318/otlp/v1/traces", SampleRatio: 0.5}, "", true},
		{"NotAURL", tracing.Config{Endpoint: "collector:4318"}, "must be an http:// or https:// URL", false},
		{"OtherScheme", tracing.Config{Endpoint: "grpc://collector:4317"}, "must be an http:// or https:// URL", false},
		{"RatioAboveOne", tracing.Config{Endpoint: "http://127.0.0.1:4318", SampleRatio: 2}, "not between 0 and 1", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p, err := tracing.Open(context.Background(), tt.cfg)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("error %v, want %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			defer p.Shutdown(context.Background())
			_, span := p.Tracer().Start(context.Background(), "x")
			defer span.End()
			if got := span.IsRecording(); got != tt.recording && tt.cfg.SampleRatio != 0.5 {
				t.Errorf("recording %v, want %v", got, tt.recording)
			}
		})
	}
}
