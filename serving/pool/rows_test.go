package pool_test

import (
	"testing"

	"github.com/tenantml/tenantml/serving/pool"
)

func TestRows(t *testing.T) {
	for _, c := range []struct {
		ct, body string
		want     int
	}{
		{"text/csv", "1,2\n3,4\n", 2},
		{"text/csv", "1,2\n3,4", 2},
		{"", "1,2", 1},
		{"text/csv", "", 1},
		{"application/json", `{"instances": [[1,2],[3,4],[5,6]]}`, 3},
		{"application/json", `[[1,2]]`, 1},
	} {
		if got := pool.Rows(c.ct, []byte(c.body)); got != c.want {
			t.Errorf("Rows(%s, %q) = %d, want %d", c.ct, c.body, got, c.want)
		}
	}
}
