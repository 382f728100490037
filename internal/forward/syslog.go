package forward

import (
	"bufio"
	"context"
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"net"
	"net/url"
	"os"
	"strconv"
	"time"
)

// syslogSender sends RFC 5424 messages whose MSG is the event's ECS JSON
// (STRUCTURED-DATA is "-"): JSON is what Elastic, Graylog, Splunk and the
// collectors parse without configuration, and structured data cannot hold
// nested objects. Over TCP and TLS every message is framed by octet
// counting (RFC 6587 3.4.1 / RFC 5425); over UDP there is one message per
// datagram (RFC 5426). Query parameters: facility (0-23 or a name such
// as local0; default 13, log audit), app-name (default wfpwatch), and for
// TLS ca (a PEM file of the CAs to trust instead of the system's), cert and
// key (a client certificate) and server-name.
//
// Plain syslog has no application acknowledgement: a receiver that dies
// with bytes in its socket buffer loses them. To narrow that window the
// batch is acknowledged to the queue only after 8 MiB more went out on the
// same connection (more than the socket buffers hold), or after a quiet
// moment in which the connection proved alive (see output.run); a broken
// connection resends everything not acknowledged.
type syslogSender struct {
	network  string // tcp, tls, udp
	addr     string
	tlsConf  *tls.Config
	facility int
	app      string
	procid   string
	conn     net.Conn
	w        *bufio.Writer
	buf      []byte
}

var facilities = map[string]int{
	"kern": 0, "user": 1, "mail": 2, "daemon": 3, "auth": 4, "syslog": 5, "lpr": 6, "news": 7,
	"uucp": 8, "cron": 9, "authpriv": 10, "ftp": 11, "ntp": 12, "audit": 13, "alert": 14, "clock": 15,
	"local0": 16, "local1": 17, "local2": 18, "local3": 19, "local4": 20, "local5": 21, "local6": 22, "local7": 23,
}

func newSyslogSender(u *url.URL) (Sender, error) {
	s := &syslogSender{addr: u.Host, facility: 13, app: "wfpwatch", procid: strconv.Itoa(os.Getpid())}
	switch u.Scheme {
	case "syslog+tcp":
		s.network = "tcp"
	case "syslog+tls":
		s.network = "tls"
	case "syslog+udp":
		s.network = "udp"
	}
	if u.Port() == "" {
		port := "514"
		if s.network == "tls" {
			port = "6514"
		}
		s.addr = net.JoinHostPort(u.Hostname(), port)
	}
	q := u.Query()
	if v := q.Get("facility"); v != "" {
		n, ok := facilities[v]
		if !ok {
			var err error
			if n, err = strconv.Atoi(v); err != nil || n < 0 || n > 23 {
				return nil, fmt.Errorf("facility=%q: want 0-23 or a name such as local0", v)
			}
		}
		s.facility = n
	}
	if v := q.Get("app-name"); v != "" {
		if len(v) > 48 || !printASCII(v) {
			return nil, fmt.Errorf("app-name=%q: want up to 48 printable ASCII characters without spaces", v)
		}
		s.app = v
	}
	if s.network == "tls" {
		s.tlsConf = &tls.Config{ServerName: u.Hostname(), MinVersion: tls.VersionTLS12}
		if v := q.Get("server-name"); v != "" {
			s.tlsConf.ServerName = v
		}
		if v := q.Get("ca"); v != "" {
			pem, err := os.ReadFile(v)
			if err != nil {
				return nil, fmt.Errorf("ca: %w", err)
			}
			pool := x509.NewCertPool()
			if !pool.AppendCertsFromPEM(pem) {
				return nil, fmt.Errorf("ca=%s holds no PEM certificate", v)
			}
			s.tlsConf.RootCAs = pool
		}
		if c, k := q.Get("cert"), q.Get("key"); c != "" || k != "" {
			cert, err := tls.LoadX509KeyPair(c, k)
			if err != nil {
				return nil, fmt.Errorf("cert/key: %w", err)
			}
			s.tlsConf.Certificates = []tls.Certificate{cert}
		}
	}
	return s, nil
}

func printASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < 33 || s[i] > 126 {
			return false
		}
	}
	return s != ""
}

func (s *syslogSender) dial(ctx context.Context) error {
	d := net.Dialer{Timeout: 10 * time.Second, KeepAlive: 30 * time.Second}
	var c net.Conn
	var err error
	if s.network == "tls" {
		td := tls.Dialer{NetDialer: &d, Config: s.tlsConf}
		c, err = td.DialContext(ctx, "tcp", s.addr)
	} else {
		c, err = d.DialContext(ctx, s.network, s.addr)
	}
	if err != nil {
		return fmt.Errorf("connect to syslog receiver: %w", err)
	}
	s.conn = c
	s.w = bufio.NewWriterSize(c, 1<<16)
	return nil
}

// appendMessage appends one RFC 5424 message (without framing).
func (s *syslogSender) appendMessage(b []byte, r *Record) []byte {
	b = append(b, '<')
	b = strconv.AppendInt(b, int64(s.facility*8+int(r.Severity)), 10)
	b = append(b, ">1 "...)
	if r.Time.IsZero() || r.Time.Unix() <= 0 {
		b = append(b, '-')
	} else {
		b = r.Time.UTC().AppendFormat(b, "2006-01-02T15:04:05.000000Z07:00")
	}
	b = append(b, ' ')
	b = appendHeaderField(b, r.Host, 255)
	b = append(b, ' ')
	b = append(b, s.app...)
	b = append(b, ' ')
	b = append(b, s.procid...)
	b = append(b, " wfp - "...)
	return append(b, r.JSON...)
}

// appendHeaderField appends v as a 5424 header field: printable US-ASCII,
// at most n characters, "-" when empty.
func appendHeaderField(b []byte, v string, n int) []byte {
	start := len(b)
	for i := 0; i < len(v) && len(b)-start < n; i++ {
		if v[i] >= 33 && v[i] <= 126 {
			b = append(b, v[i])
		}
	}
	if len(b) == start {
		b = append(b, '-')
	}
	return b
}

func (s *syslogSender) Send(ctx context.Context, recs []Record) error {
	if s.conn == nil {
		if err := s.dial(ctx); err != nil {
			return err
		}
	}
	if dl, ok := ctx.Deadline(); ok {
		s.conn.SetWriteDeadline(dl)
	} else {
		s.conn.SetWriteDeadline(time.Now().Add(30 * time.Second))
	}
	for i := range recs {
		s.buf = s.appendMessage(s.buf[:0], &recs[i])
		var err error
		if s.network == "udp" {
			_, err = s.conn.Write(s.buf)
		} else {
			var hdr [12]byte
			h := strconv.AppendInt(hdr[:0], int64(len(s.buf)), 10)
			s.w.Write(h)
			s.w.WriteByte(' ')
			_, err = s.w.Write(s.buf)
		}
		if err != nil {
			s.Close()
			return fmt.Errorf("send to syslog receiver %s: %w", s.addr, err)
		}
	}
	if s.network != "udp" {
		if err := s.w.Flush(); err != nil {
			s.Close()
			return fmt.Errorf("send to syslog receiver %s: %w", s.addr, err)
		}
		// A receiver that closed the connection is only noticed on a later
		// write; a short read with a deadline notices it now, so the batch
		// is sent again instead of acknowledged into a dead socket.
		if s.peerClosed() {
			s.Close()
			return fmt.Errorf("syslog receiver %s closed the connection", s.addr)
		}
	}
	return nil
}

// peerClosed reports whether the receiver closed its end (syslog receivers
// never write, so any read result other than a timeout means closed).
func (s *syslogSender) peerClosed() bool {
	s.conn.SetReadDeadline(time.Now().Add(time.Millisecond))
	var one [1]byte
	_, err := s.conn.Read(one[:])
	if ne, ok := err.(net.Error); ok && ne.Timeout() {
		return false
	}
	return true
}

func (s *syslogSender) Close() error {
	if s.conn == nil {
		return nil
	}
	err := s.conn.Close()
	s.conn, s.w = nil, nil
	return err
}

// Alive reports whether the connection is still open (for the delayed
// acknowledgement of output.run).
func (s *syslogSender) Alive() bool {
	if s.conn == nil {
		return false
	}
	if s.peerClosed() {
		s.Close()
		return false
	}
	return true
}
