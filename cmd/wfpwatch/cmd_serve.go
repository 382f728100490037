package main

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"os"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/wfpwatch/wfpwatch/internal/store"
	"github.com/wfpwatch/wfpwatch/internal/web"
)

func init() {
	register(&command{name: "serve", summary: "a local dashboard, JSON API and /metrics over the history", new: newServeCmd})
}

const serveDescription = `Serve the history database as a dashboard (Overview, Search, Event detail,
Live), a JSON API under /api/ (docs/api.md) and Prometheus metrics at
/metrics, on any OS. The pages and scripts are built in; nothing is loaded
from the internet.

Safe by default: it listens on 127.0.0.1 only. Any other address (another
interface, 0.0.0.0) is refused unless --token or --token-file gives a token
that every request must present; add --cert and --key for TLS. Requests
whose Host header does not name the server are refused (DNS rebinding),
no CORS header is sent, and nothing served changes state.

The Live page follows the database: events that 'wfpwatch watch --db', the
service or 'analyze --db' record appear within a quarter of a second.
`

const serveExamples = `  wfpwatch serve                                   # http://127.0.0.1:8089/ over the default database
  wfpwatch serve --db history.db --listen 127.0.0.1:0
  wfpwatch serve --listen 0.0.0.0:8443 --token-file token.txt --cert cert.pem --key key.pem`

type serveOptions struct {
	listen, dbPath, token, tokenFile, cert, key *string
	statusDir                                   *string
	live, packets, permits, noAudit             *bool
	hosts                                       listFlag
}

func newServeCmd(stdout, stderr io.Writer) *cobra.Command {
	var o serveOptions
	c := &cobra.Command{
		Use:     "serve [flags]",
		Short:   "a local dashboard, JSON API and /metrics over the history",
		Long:    serveDescription,
		Example: serveExamples,
		Args:    noArgs,
		RunE:    func(c *cobra.Command, args []string) error { return runServe(c.Context(), &o, stderr) },
	}
	fs := c.Flags()
	o.listen = fs.String("listen", "127.0.0.1:8089", "listen on `HOST:PORT` (port 0 picks a free one); not loopback needs --token")
	o.dbPath = fs.String("db", "", "history database `FILE` (default: "+defaultDBHelp()+")")
	o.token = fs.String("token", "", "require this `TOKEN` on every request (Authorization: Bearer, or ?token= once in a browser)")
	o.tokenFile = fs.String("token-file", "", "read the token from `FILE` (its first line), so it is not on the command line")
	o.cert = fs.String("cert", "", "TLS certificate `FILE` (PEM); with --key, serve HTTPS")
	o.key = fs.String("key", "", "TLS private key `FILE` (PEM)")
	o.live = fs.Bool("live", false, "also capture live, as 'wfpwatch watch' does, into the database served (Windows; needs an elevated prompt)")
	o.packets = fs.Bool("packets", false, "with --live: also capture packet drops")
	o.permits = fs.Bool("permits", false, "with --live: also capture permitted traffic")
	o.noAudit = fs.Bool("no-audit", false, "with --live: leave the audit policy alone (managed elsewhere)")
	o.statusDir = fs.String("status-dir", "", "read the health of the running watch or service from `DIR` (default: the status folder of the state directory; - for none)")
	fs.Var(&o.hosts, "allow-host", "also accept this `NAME` in the Host header (repeatable), e.g. the server's DNS name")
	return c
}

// serveReady, when set (tests), receives the URL once the server listens.
var serveReady func(url string)

func runServe(ctx context.Context, o *serveOptions, stderr io.Writer) error {
	if *o.live {
		return serveLive(ctx, o, stderr)
	}
	if *o.packets || *o.permits || *o.noAudit {
		return usagef("--packets, --permits and --no-audit go with --live")
	}
	token := *o.token
	if *o.tokenFile != "" {
		if token != "" {
			return usagef("give --token or --token-file, not both")
		}
		b, err := os.ReadFile(*o.tokenFile)
		if err != nil {
			return fmt.Errorf("read --token-file: %w", err)
		}
		token, _, _ = strings.Cut(string(b), "\n")
		token = strings.TrimSpace(token)
		if token == "" {
			return fmt.Errorf("--token-file %s: the first line is empty: write the token there", *o.tokenFile)
		}
	}
	if token != "" && len(token) < 16 {
		return usagef("--token: use at least 16 characters (openssl rand -hex 16 makes one)")
	}
	if (*o.cert == "") != (*o.key == "") {
		return usagef("give both --cert and --key for TLS")
	}
	hosts, anyIP, err := web.CheckListen(*o.listen, token)
	if err != nil {
		return fmt.Errorf("%w: %v", errUsage, err)
	}
	var tlsConf *tls.Config
	if *o.cert != "" {
		pair, err := tls.LoadX509KeyPair(*o.cert, *o.key)
		if err != nil {
			return fmt.Errorf("load --cert/--key: %w", err)
		}
		tlsConf = &tls.Config{Certificates: []tls.Certificate{pair}, MinVersion: tls.VersionTLS12}
	}
	path := *o.dbPath
	if path == "" {
		if path, err = store.DefaultPath(); err != nil {
			return err
		}
	}
	db, err := store.Open(path, store.Options{ReadOnly: true})
	if err != nil {
		return err
	}
	defer db.Close()
	logger := log.New(stderr, "", log.LstdFlags)
	srv, err := web.New(web.Options{DB: db, Token: token, Hosts: append(hosts, o.hosts...), AnyIP: anyIP, TLS: tlsConf != nil, Log: logger, StatusDir: *o.statusDir})
	if err != nil {
		return err
	}
	ln, err := net.Listen("tcp", *o.listen)
	if err != nil {
		return fmt.Errorf("listen on %s: %w (is another server using the port? --listen 127.0.0.1:0 picks a free one)", *o.listen, err)
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	srv.Start(ctx)
	hs := &http.Server{
		Handler:           srv.Handler(),
		ReadHeaderTimeout: 10 * time.Second,
		IdleTimeout:       2 * time.Minute,
		MaxHeaderBytes:    64 << 10,
		ErrorLog:          logger,
		TLSConfig:         tlsConf,
		BaseContext:       func(net.Listener) context.Context { return ctx },
	}
	scheme := "http"
	if tlsConf != nil {
		scheme = "https"
		ln = tls.NewListener(ln, tlsConf)
	}
	url := scheme + "://" + ln.Addr().String() + "/"
	fmt.Fprintf(stderr, "wfpwatch serve: %s over %s (Ctrl+C stops)\n", url, path)
	if token != "" {
		fmt.Fprintf(stderr, "wfpwatch serve: a token is required: open %s?token=… once in a browser\n", url)
	}
	if serveReady != nil {
		serveReady(url)
	}
	errc := make(chan error, 1)
	go func() { errc <- hs.Serve(ln) }()
	select {
	case err := <-errc:
		return fmt.Errorf("serve: %w", err)
	case <-ctx.Done():
	}
	sctx, scancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer scancel()
	hs.Shutdown(sctx)
	if err := <-errc; err != nil && !errors.Is(err, http.ErrServerClosed) {
		return fmt.Errorf("serve: %w", err)
	}
	return nil
}

// serveLive is 'serve --live': watch's pipeline records into the database
// (--db, or the default one) and the dashboard serves it, in one process;
// on exit the host is put back first, as watch does.
func serveLive(ctx context.Context, o *serveOptions, stderr io.Writer) error {
	w := &watchOptions{}
	args := []string{"--format=json"}
	if *o.dbPath != "" {
		args = append(args, "--db="+*o.dbPath)
	}
	for flag, on := range map[string]bool{"--packets": *o.packets, "--permits": *o.permits, "--no-audit": *o.noAudit} {
		if on {
			args = append(args, flag)
		}
	}
	c := newWatchCmdWith(w, io.Discard, stderr)
	setup(c, io.Discard, stderr)
	if err := c.ParseFlags(args); err != nil {
		return err
	}
	w.command = "serve --live"
	var serveArgs []string
	for _, f := range []struct {
		name string
		v    *string
	}{{"listen", o.listen}, {"token", o.token}, {"token-file", o.tokenFile}, {"cert", o.cert}, {"key", o.key}, {"status-dir", o.statusDir}} {
		if *f.v != "" {
			serveArgs = append(serveArgs, "--"+f.name+"="+*f.v)
		}
	}
	for _, h := range o.hosts {
		serveArgs = append(serveArgs, "--allow-host="+h)
	}
	return runWatchAndServe(ctx, w, true, serveArgs, io.Discard, stderr)
}
