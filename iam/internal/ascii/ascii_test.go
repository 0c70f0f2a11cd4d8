package ascii

import "testing"

func TestLower(t *testing.T) {
	for _, tt := range []struct{ in, want string }{
		{"", ""},
		{"already lower", "already lower"},
		{"SageMaker:InvokeEndpoint", "sagemaker:invokeendpoint"},
		{"aws:PrincipalTag/TenantID", "aws:principaltag/tenantid"},
		{"ÄÖÜ-AB", "ÄÖÜ-ab"}, // non-ASCII bytes are left alone
		{"@[`{", "@[`{"},     // the bytes around A-Z
	} {
		t.Run(tt.in, func(t *testing.T) {
			if got := Lower(tt.in); got != tt.want {
				t.Fatalf("Lower(%q) = %q, want %q", tt.in, got, tt.want)
			}
		})
	}
}

func TestEqualFoldLower(t *testing.T) {
	for _, tt := range []struct {
		s, lower string
		want     bool
	}{
		{"", "", true},
		{"InvokeEndpoint", "invokeendpoint", true},
		{"invokeendpoint", "invokeendpoint", true},
		{"InvokeEndpoint", "invokeendpoin", false},
		{"InvokeEndpoinT", "invokeendpoins", false},
		{"Ä", "ä", false}, // only ASCII folds
		{"[", "{", false},
	} {
		t.Run(tt.s+"/"+tt.lower, func(t *testing.T) {
			if got := EqualFoldLower(tt.s, tt.lower); got != tt.want {
				t.Fatalf("EqualFoldLower(%q, %q) = %t, want %t", tt.s, tt.lower, got, tt.want)
			}
		})
	}
}
