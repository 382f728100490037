// Package web is the dashboard of wfpwatch: a JSON API over the history
// database, server-rendered pages with a little embedded JavaScript, a live
// stream of new events (Server-Sent Events) and Prometheus metrics.
//
// The server is safe by default: it is meant to listen on loopback; a
// token is required for anything else (CheckListen); every request's Host
// header must name the server (DNS rebinding); no CORS header is ever
// sent; a strict Content-Security-Policy forbids inline script; only GET
// and HEAD are served (nothing changes state).
package web

import (
	"context"
	"crypto/subtle"
	"embed"
	"errors"
	"fmt"
	"html/template"
	"io/fs"
	"log"
	"net"
	"net/http"
	"strings"
	"time"

	"github.com/wfpwatch/wfpwatch/internal/store"
)

//go:embed assets
var assets embed.FS

// Options configure a Server.
type Options struct {
	// DB is the history database the server reads. The caller owns it
	// and closes it after the server has stopped.
	DB *store.DB
	// Token, when set, must be presented by every request: as
	// "Authorization: Bearer TOKEN", or once as ?token=TOKEN on a page,
	// which sets an HttpOnly cookie for the browser.
	Token string
	// Hosts are the host names (without port) a request's Host header may
	// name, besides localhost and the loopback addresses. A server bound
	// to an unspecified address ("0.0.0.0", "::") also accepts any IP
	// address literal.
	Hosts []string
	// AnyIP accepts any IP-literal Host header (set for a server bound to
	// an unspecified address).
	AnyIP bool
	// TLS marks the token cookie Secure.
	TLS bool
	// Now is the clock for relative times (nil: time.Now).
	Now func() time.Time
	// LivePoll is how often the live stream looks for new events
	// (0: 250ms).
	LivePoll time.Duration
	// Log receives errors that are not the client's fault (nil: discarded).
	Log *log.Logger
	// StatusDir holds the health snapshots of the capturing processes
	// (internal/health): "" is the default status directory, "-" none.
	StatusDir string
}

// Server serves the dashboard. Create it with New.
type Server struct {
	opt     Options
	mux     *http.ServeMux
	static  fs.FS
	metrics *metrics
	pages   *template.Template
}

// New returns a Server over opt.DB.
func New(opt Options) (*Server, error) {
	if opt.DB == nil {
		return nil, errors.New("web: no history database")
	}
	if opt.Now == nil {
		opt.Now = time.Now
	}
	if opt.LivePoll <= 0 {
		opt.LivePoll = 250 * time.Millisecond
	}
	if opt.Log == nil {
		opt.Log = log.New(discard{}, "", 0)
	}
	static, err := fs.Sub(assets, "assets/static")
	if err != nil {
		return nil, err
	}
	s := &Server{opt: opt, mux: http.NewServeMux(), static: static}
	if err := s.initPages(); err != nil {
		return nil, err
	}
	s.metrics = newMetrics(opt.DB, opt.Log)
	s.metrics.reg.MustRegister(newCaptureCollector(opt.StatusDir, opt.Now))
	s.routes()
	return s, nil
}

type discard struct{}

func (discard) Write(p []byte) (int, error) { return len(p), nil }

// Start begins the background work (the metrics' reading of the history)
// until ctx ends.
func (s *Server) Start(ctx context.Context) { go s.metrics.run(ctx, s.opt.LivePoll) }

func (s *Server) routes() {
	s.mux.HandleFunc("/api/events", s.apiEvents)
	s.mux.HandleFunc("/api/event/{id}", s.apiEvent)
	s.mux.HandleFunc("/api/top", s.apiTop)
	s.mux.HandleFunc("/api/series", s.apiSeries)
	s.mux.HandleFunc("/api/export", s.apiExport)
	s.mux.HandleFunc("/api/live", s.apiLive)
	s.mux.HandleFunc("/api/health", s.apiHealth)
	s.mux.HandleFunc("/api/", func(w http.ResponseWriter, r *http.Request) {
		jsonError(w, http.StatusNotFound, "no such API endpoint: see docs/api.md")
	})
	s.mux.Handle("/metrics", s.metrics.handler())
	s.mux.Handle("/static/", http.StripPrefix("/static/", http.FileServerFS(s.static)))
	s.mux.HandleFunc("/{$}", s.pageOverview)
	s.mux.HandleFunc("/search", s.pageSearch)
	s.mux.HandleFunc("/event/{id}", s.pageEvent)
	s.mux.HandleFunc("/live", s.pageLive)
}

// Handler returns the server's handler with every safety check in front.
func (s *Server) Handler() http.Handler { return http.HandlerFunc(s.serve) }

// contentSecurityPolicy allows nothing but the server's own scripts,
// styles and images and connections back to it; no inline script or
// style, no frames, no form posts elsewhere.
const contentSecurityPolicy = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"

func (s *Server) serve(w http.ResponseWriter, r *http.Request) {
	h := w.Header()
	h.Set("Content-Security-Policy", contentSecurityPolicy)
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("X-Frame-Options", "DENY")
	h.Set("Referrer-Policy", "no-referrer")
	h.Set("Cross-Origin-Opener-Policy", "same-origin")
	h.Set("Cross-Origin-Resource-Policy", "same-origin")
	h.Set("Cache-Control", "no-store")
	if !s.hostAllowed(r.Host) {
		http.Error(w, "wfpwatch serve: the Host header does not name this server (DNS rebinding?); use http://127.0.0.1:PORT/ or pass --allow-host", http.StatusMisdirectedRequest)
		return
	}
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		h.Set("Allow", "GET, HEAD")
		http.Error(w, "wfpwatch serve: only GET and HEAD: nothing here changes state", http.StatusMethodNotAllowed)
		return
	}
	if s.opt.Token != "" && !s.authorized(w, r) {
		return
	}
	s.mux.ServeHTTP(w, r)
}

const tokenCookie = "wfpwatch_token"

// authorized checks the token; a page visited with ?token= sets the
// cookie and is redirected to its URL without the token.
func (s *Server) authorized(w http.ResponseWriter, r *http.Request) bool {
	eq := func(got string) bool {
		return got != "" && subtle.ConstantTimeCompare([]byte(got), []byte(s.opt.Token)) == 1
	}
	if a := r.Header.Get("Authorization"); strings.HasPrefix(a, "Bearer ") && eq(strings.TrimPrefix(a, "Bearer ")) {
		return true
	}
	if c, err := r.Cookie(tokenCookie); err == nil && eq(c.Value) {
		return true
	}
	if q := r.URL.Query(); eq(q.Get("token")) {
		http.SetCookie(w, &http.Cookie{Name: tokenCookie, Value: s.opt.Token, Path: "/", HttpOnly: true, Secure: s.opt.TLS, SameSite: http.SameSiteStrictMode})
		q.Del("token")
		u := *r.URL
		u.RawQuery = q.Encode()
		http.Redirect(w, r, u.RequestURI(), http.StatusSeeOther)
		return false
	}
	w.Header().Set("WWW-Authenticate", `Bearer realm="wfpwatch"`)
	http.Error(w, "wfpwatch serve: a token is required: open the URL with ?token=TOKEN once, or send Authorization: Bearer TOKEN", http.StatusUnauthorized)
	return false
}

// hostAllowed reports whether a Host header names this server: localhost,
// a loopback address, one of opt.Hosts, or (AnyIP) any IP address.
func (s *Server) hostAllowed(hostport string) bool {
	host := hostport
	if h, _, err := net.SplitHostPort(hostport); err == nil {
		host = h
	}
	host = strings.TrimSuffix(strings.TrimPrefix(host, "["), "]")
	host = strings.TrimSuffix(strings.ToLower(host), ".")
	if host == "" {
		return false
	}
	if host == "localhost" || strings.HasSuffix(host, ".localhost") {
		return true
	}
	if ip := net.ParseIP(host); ip != nil {
		if ip.IsLoopback() || s.opt.AnyIP {
			return true
		}
	}
	for _, h := range s.opt.Hosts {
		if strings.EqualFold(strings.TrimSuffix(h, "."), host) {
			return true
		}
	}
	return false
}

// CheckListen says whether a server may listen on addr (host:port) with
// the given token: a loopback address or "localhost" always; anything
// else (another address, a host name, an unspecified address such as
// 0.0.0.0) only with a token. It returns the hosts a Host header may
// name besides loopback, and whether any IP literal is acceptable.
func CheckListen(addr, token string) (hosts []string, anyIP bool, err error) {
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return nil, false, fmt.Errorf("--listen %q: want HOST:PORT such as 127.0.0.1:8080", addr)
	}
	if port == "" {
		return nil, false, fmt.Errorf("--listen %q: give a port, such as 127.0.0.1:8080 (0 picks a free one)", addr)
	}
	if strings.EqualFold(host, "localhost") {
		return nil, false, nil
	}
	ip := net.ParseIP(host)
	if ip != nil && ip.IsLoopback() {
		return nil, false, nil
	}
	if token == "" {
		return nil, false, fmt.Errorf("--listen %q is not a loopback address: anyone who can reach it could read the history; pass --token (or --token-file), and --cert/--key for TLS", addr)
	}
	if host == "" || (ip != nil && ip.IsUnspecified()) {
		return nil, true, nil
	}
	return []string{host}, false, nil
}
