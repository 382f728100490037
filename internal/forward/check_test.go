package forward

import "testing"

func TestCheck(t *testing.T) {
	for _, tc := range []struct {
		url string
		ok  bool
	}{
		{"file://C:/logs/blocks.json", true},
		{"syslog+tls://siem:6514?ca=ca.pem&queue-full=drop", true},
		{"kafka://b1:9092,b2:9092/wfp", true},
		{"otlp+https://collector:4318", true},
		{"sylog+tcp://x:1", false},
		{"file://x?queue-size=12", false},
		{"file://x?queue-full=maybe", false},
		{"file://x?batch=0", false},
		{"%zz", false},
	} {
		if err := Check(tc.url); (err == nil) != tc.ok {
			t.Errorf("Check(%q) = %v", tc.url, err)
		}
	}
}
