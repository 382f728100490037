package service

import (
	"bytes"
	"fmt"
	"io"
	"strings"
	"sync"
	"time"
)

// Level is the event type of a message.
type Level int

const (
	Info Level = iota
	Warning
	Error
)

func (l Level) String() string {
	switch l {
	case Warning:
		return "warning"
	case Error:
		return "error"
	}
	return "info"
}

// EventSink receives the service's messages for the Event Log: on Windows
// an *eventlog.Log of the source "wfpwatch" (see OpenEventLog).
type EventSink interface {
	Info(eid uint32, msg string) error
	Warning(eid uint32, msg string) error
	Error(eid uint32, msg string) error
}

// Logger writes the service's messages to the Event Log (when it has a
// sink) and to a log file, each with its level. As an io.Writer it takes
// the lines that watch writes to its standard error: each Write is one
// message (watch's say writes a message, of one or more lines, at once);
// text without a final newline waits for the rest. A message whose text,
// after the "wfpwatch: " prefix, starts with "warning:" is a Warning, with
// "error:" an Error; anything else is Info. It is safe for concurrent use.
type Logger struct {
	events EventSink // may be nil
	file   io.Writer // may be nil
	now    func() time.Time

	mu      sync.Mutex
	partial []byte
	// failed remembers that the Event Log refused a message, so that the
	// file says so once.
	failed bool
}

// NewLogger returns a Logger writing to events and file (either may be nil).
func NewLogger(events EventSink, file io.Writer) *Logger {
	return &Logger{events: events, file: file, now: time.Now}
}

// Write takes one or more messages (see Logger).
func (l *Logger) Write(p []byte) (int, error) {
	l.mu.Lock()
	buf := append(l.partial, p...)
	i := bytes.LastIndexByte(buf, '\n')
	if i < 0 {
		l.partial = buf
		l.mu.Unlock()
		return len(p), nil
	}
	msg := string(buf[:i])
	l.partial = append([]byte(nil), buf[i+1:]...)
	l.mu.Unlock()
	for _, m := range splitMessages(msg) {
		l.Log(Classify(m), m)
	}
	return len(p), nil
}

// splitMessages splits text written at once into messages: a line that
// starts with "wfpwatch: " starts a new one; other lines continue the one
// before.
func splitMessages(text string) []string {
	var out []string
	for _, line := range strings.Split(text, "\n") {
		if len(out) == 0 || strings.HasPrefix(line, "wfpwatch: ") {
			out = append(out, line)
			continue
		}
		out[len(out)-1] += "\n" + line
	}
	return out
}

// Classify returns the level of a message by its first words.
func Classify(msg string) Level {
	m := strings.TrimPrefix(strings.TrimSpace(msg), "wfpwatch: ")
	m = strings.ToLower(m)
	switch {
	case strings.HasPrefix(m, "warning:"), strings.Contains(m, "cannot be watched"):
		return Warning
	case strings.HasPrefix(m, "error:"), strings.HasPrefix(m, "could not put"):
		return Error
	}
	return Info
}

// Logf writes a message of level lv.
func (l *Logger) Logf(lv Level, format string, args ...any) {
	l.Log(lv, fmt.Sprintf(format, args...))
}

// Log writes msg at level lv to the file (with the time and level) and to
// the Event Log.
func (l *Logger) Log(lv Level, msg string) {
	msg = strings.TrimRight(msg, "\r\n")
	if msg == "" {
		return
	}
	text := strings.TrimPrefix(msg, "wfpwatch: ")
	var err error
	if l.events != nil {
		switch lv {
		case Warning:
			err = l.events.Warning(EventWarning, text)
		case Error:
			err = l.events.Error(EventError, text)
		default:
			err = l.events.Info(EventInfo, text)
		}
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.file == nil {
		return
	}
	ts := l.now().Format("2006-01-02T15:04:05.000Z07:00")
	body := strings.ReplaceAll(text, "\n", "\n    ")
	fmt.Fprintf(l.file, "%s %-7s %s\r\n", ts, lv, strings.ReplaceAll(body, "\n", "\r\n"))
	if err != nil && !l.failed {
		l.failed = true
		fmt.Fprintf(l.file, "%s %-7s the Event Log refused a message (%v); messages go on to this file only when that happens\r\n", ts, Warning, err)
	}
}

// Flush writes a message left without its final newline.
func (l *Logger) Flush() {
	l.mu.Lock()
	rest := string(l.partial)
	l.partial = nil
	l.mu.Unlock()
	if strings.TrimSpace(rest) != "" {
		l.Log(Classify(rest), rest)
	}
}
