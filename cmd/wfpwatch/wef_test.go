package main

import (
	"bytes"
	"encoding/xml"
	"reflect"
	"regexp"
	"sort"
	"strconv"
	"testing"

	"github.com/wfpwatch/wfpwatch/internal/event"
)

// The subscription is well-formed XML whose query selects exactly the
// event ids watch reads, for every combination of --packets and --permits.
func TestWEFSubscription(t *testing.T) {
	for _, c := range []struct{ packets, permits bool }{{false, false}, {true, false}, {false, true}, {true, true}} {
		var out, errb bytes.Buffer
		args := []string{"wef", "subscription", "--name", "wfp-test"}
		if c.packets {
			args = append(args, "--packets")
		}
		if c.permits {
			args = append(args, "--permits")
		}
		if code := run(args, &out, &errb); code != 0 {
			t.Fatalf("%v: exit %d: %s", args, code, errb.String())
		}
		var sub struct {
			ID      string `xml:"SubscriptionId"`
			Type    string `xml:"SubscriptionType"`
			Query   string `xml:"Query"`
			Format  string `xml:"ContentFormat"`
			LogFile string `xml:"LogFile"`
		}
		if err := xml.Unmarshal(out.Bytes(), &sub); err != nil {
			t.Fatalf("not XML: %v\n%s", err, out.String())
		}
		if sub.ID != "wfp-test" || sub.Type != "SourceInitiated" || sub.Format != "Events" || sub.LogFile != "ForwardedEvents" {
			t.Errorf("%+v", sub)
		}
		var q struct {
			Query struct {
				Select struct {
					Path string `xml:"Path,attr"`
					Text string `xml:",chardata"`
				} `xml:"Select"`
			} `xml:"Query"`
		}
		if err := xml.Unmarshal([]byte(sub.Query), &q); err != nil || q.Query.Select.Path != "Security" {
			t.Fatalf("query %q: %v", sub.Query, err)
		}
		got := selected(t, q.Query.Select.Text)
		var want []int
		for id, a := range event.AuditIDs {
			if (!a.Permit || c.permits) && (a.Kind != event.KindPacket || c.packets) {
				want = append(want, id)
			}
		}
		sort.Ints(want)
		if !reflect.DeepEqual(got, want) {
			t.Errorf("packets=%v permits=%v: selects %v, want %v", c.packets, c.permits, got, want)
		}
	}
	var out, errb bytes.Buffer
	if code := run([]string{"wef", "subscription", "--name", "a b"}, &out, &errb); code != 2 {
		t.Errorf("bad name: exit %d", code)
	}
}

// selected lists the event ids 1-9999 that the XPath's EventID terms select.
func selected(t *testing.T, xpath string) []int {
	eq := regexp.MustCompile(`EventID=(\d+)`)
	rng := regexp.MustCompile(`\(EventID>=(\d+) and EventID<=(\d+)\)`)
	var ids []int
	for _, m := range rng.FindAllStringSubmatch(xpath, -1) {
		a, _ := strconv.Atoi(m[1])
		b, _ := strconv.Atoi(m[2])
		for i := a; i <= b; i++ {
			ids = append(ids, i)
		}
	}
	for _, m := range eq.FindAllStringSubmatch(rng.ReplaceAllString(xpath, ""), -1) {
		a, _ := strconv.Atoi(m[1])
		ids = append(ids, a)
	}
	sort.Ints(ids)
	return ids
}
