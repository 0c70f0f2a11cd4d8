package api

import (
	"net/url"
	"strconv"
)

// FormTags reads the query protocol's tag list, Tags.member.N.Key and
// Tags.member.N.Value (IAM, CloudWatch); nil when there is none.
func FormTags(f url.Values) map[string]string {
	var tags map[string]string
	for i := 1; ; i++ {
		k, ok := f["Tags.member."+strconv.Itoa(i)+".Key"]
		if !ok || len(k) == 0 {
			return tags
		}
		if tags == nil {
			tags = map[string]string{}
		}
		tags[k[0]] = f.Get("Tags.member." + strconv.Itoa(i) + ".Value")
	}
}

// FormList reads the query protocol's list <name>.member.N, up to the
// first missing index.
func FormList(f url.Values, name string) []string {
	var out []string
	for i := 1; ; i++ {
		v, ok := f[name+".member."+strconv.Itoa(i)]
		if !ok || len(v) == 0 {
			return out
		}
		out = append(out, v[0])
	}
}
