package hostapp

import (
	"github.com/wmpf-hil/wmpf-hil/harness/protocol"
	"net/url"
	"strings"
)

// queryValue returns the decoded value of key in a path's query, "" if absent.
func queryValue(path, key string) string {
	_, q, _ := strings.Cut(path, "?")
	for _, part := range strings.Split(q, "&") {
		k, v, _ := strings.Cut(part, "=")
		if k == key {
			d, err := url.PathUnescape(v)
			if err != nil {
				return v
			}
			return d
		}
	}
	return ""
}

func pathUnescape(s string) (string, error) { return url.PathUnescape(s) }

func encodeURIComponent(s string) string { return protocol.EncodeURIComponent(s) }
