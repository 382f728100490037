package web

import (
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"testing"
)

func TestCheckListen(t *testing.T) {
	for _, c := range []struct {
		addr, token string
		ok, anyIP   bool
	}{
		{"127.0.0.1:8089", "", true, false},
		{"127.0.0.2:0", "", true, false},
		{"[::1]:8089", "", true, false},
		{"localhost:8089", "", true, false},
		{"0.0.0.0:8089", "", false, false},
		{":8089", "", false, false},
		{"[::]:8089", "", false, false},
		{"192.168.1.5:8089", "", false, false},
		{"myhost.example:8089", "", false, false},
		{"0.0.0.0:8089", "0123456789abcdef", true, true},
		{"192.168.1.5:8089", "0123456789abcdef", true, false},
		{"127.0.0.1", "", false, false},
		{"127.0.0.1:", "", false, false},
	} {
		_, anyIP, err := CheckListen(c.addr, c.token)
		if (err == nil) != c.ok || anyIP != c.anyIP {
			t.Errorf("CheckListen(%q, token %v) = anyIP %v, %v; want ok %v anyIP %v", c.addr, c.token != "", anyIP, err, c.ok, c.anyIP)
		}
	}
}

func TestSecurityHeadersAndHost(t *testing.T) {
	db, _ := seed(t, 50)
	h := newTestServer(t, db, Options{Hosts: []string{"wfp.example"}}).Handler()
	for _, c := range []struct {
		host string
		code int
	}{
		{"127.0.0.1:8089", 200},
		{"localhost:8089", 200},
		{"[::1]:8089", 200},
		{"wfp.example:8089", 200},
		{"WFP.EXAMPLE.", 200},
		{"evil.example:8089", 421},
		{"127.0.0.1.evil.example", 421},
		{"10.0.0.1:8089", 421},
		{"", 421},
	} {
		for _, target := range []string{"/", "/api/events", "/metrics", "/static/app.js"} {
			req := httptest.NewRequest("GET", target, nil)
			req.Host = c.host
			req.Header.Set("Origin", "http://evil.example")
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, req)
			if rec.Code != c.code {
				t.Errorf("Host %q %s: %d, want %d", c.host, target, rec.Code, c.code)
			}
			if csp := rec.Header().Get("Content-Security-Policy"); !strings.Contains(csp, "script-src 'self'") || strings.Contains(csp, "unsafe-inline") {
				t.Errorf("%s: CSP %q", target, csp)
			}
			for k := range rec.Header() {
				if strings.HasPrefix(strings.ToLower(k), "access-control-") {
					t.Errorf("%s: CORS header %s", target, k)
				}
			}
			if rec.Header().Get("X-Content-Type-Options") != "nosniff" {
				t.Errorf("%s: no nosniff", target)
			}
		}
	}
	// Nothing changes state: every other method is refused, preflights
	// included.
	for _, m := range []string{"POST", "PUT", "DELETE", "PATCH", "OPTIONS"} {
		req := httptest.NewRequest(m, "/api/events", strings.NewReader("x"))
		req.Host = "127.0.0.1:8089"
		req.Header.Set("Origin", "http://evil.example")
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		if rec.Code != http.StatusMethodNotAllowed {
			t.Errorf("%s: %d, want 405", m, rec.Code)
		}
	}
}

func TestToken(t *testing.T) {
	db, _ := seed(t, 50)
	const token = "0123456789abcdef0123"
	h := newTestServer(t, db, Options{Token: token, AnyIP: true}).Handler()
	do := func(target string, mod func(*http.Request)) *httptest.ResponseRecorder {
		req := httptest.NewRequest("GET", target, nil)
		req.Host = "192.168.1.5:8089"
		if mod != nil {
			mod(req)
		}
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		return rec
	}
	if rec := do("/api/events", nil); rec.Code != 401 {
		t.Fatalf("no token: %d", rec.Code)
	}
	if rec := do("/metrics", func(r *http.Request) { r.Header.Set("Authorization", "Bearer wrong") }); rec.Code != 401 {
		t.Fatalf("wrong token: %d", rec.Code)
	}
	if rec := do("/metrics", func(r *http.Request) { r.Header.Set("Authorization", "Bearer "+token) }); rec.Code != 200 {
		t.Fatalf("bearer: %d", rec.Code)
	}
	rec := do("/search?verdict=block&token="+token, nil)
	if rec.Code != http.StatusSeeOther || rec.Header().Get("Location") != "/search?verdict=block" {
		t.Fatalf("?token=: %d to %q", rec.Code, rec.Header().Get("Location"))
	}
	cookies := rec.Result().Cookies()
	if len(cookies) != 1 || !cookies[0].HttpOnly || cookies[0].SameSite != http.SameSiteStrictMode {
		t.Fatalf("cookie %+v", cookies)
	}
	if rec := do("/search?verdict=block", func(r *http.Request) { r.AddCookie(cookies[0]) }); rec.Code != 200 {
		t.Fatalf("with the cookie: %d", rec.Code)
	}
}

// TestPagesSafe: every page renders, loads no inline script, style or
// event handler (the CSP would block them), and escapes stored text.
func TestPagesSafe(t *testing.T) {
	db, _ := seed(t, 500)
	h := newTestServer(t, db, Options{}).Handler()
	inline := regexp.MustCompile(`(?i)<script(\s[^>]*)?>[^<]|\son[a-z]+\s*=|\sstyle\s*=|javascript:`)
	var weight int
	for _, p := range []string{"/", "/?since=all", "/search", "/search?verdict=block&limit=10", "/event/1", "/live", "/live?app=chrome"} {
		rec := get(t, h, p)
		body := rec.Body.String()
		if rec.Code != 200 {
			t.Fatalf("%s: %d %s", p, rec.Code, body)
		}
		if m := inline.FindString(body); m != "" {
			t.Errorf("%s: inline script or style: %q", p, m)
		}
		if strings.Contains(body, "<script>alert") {
			t.Errorf("%s: stored text not escaped", p)
		}
		if p == "/" {
			weight = len(body)
		}
	}
	for _, a := range []string{"/static/app.js", "/static/style.css"} {
		rec := get(t, h, a)
		if rec.Code != 200 {
			t.Fatalf("%s: %d", a, rec.Code)
		}
		weight += rec.Body.Len()
	}
	if weight > 300<<10 {
		t.Errorf("overview weighs %d bytes (HTML+JS+CSS), want < 300 KB", weight)
	}
	t.Logf("overview page weight: %d bytes (HTML+JS+CSS)", weight)
}
