package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"github.com/spf13/cobra"

	"github.com/wfpwatch/wfpwatch/internal/audit"
	"github.com/wfpwatch/wfpwatch/internal/config"
	"github.com/wfpwatch/wfpwatch/internal/output"
	"github.com/wfpwatch/wfpwatch/internal/service"
	"github.com/wfpwatch/wfpwatch/internal/statedir"
	"github.com/wfpwatch/wfpwatch/internal/store"
)

func init() {
	register(&command{name: "service", summary: "install and control wfpwatch as a Windows service", new: newServiceCmd})
}

const serviceHelp = `Runs watch as a Windows service: it starts at boot (delayed automatic
start), survives logoff, is restarted by Windows if it crashes, and puts the
host back (the audit policy, the WFP engine options) whenever it stops,
before it drains its outputs. See docs/service.md.

Subcommands:
  install [--config FILE] [--exe PATH] [--account NAME]
                  register the service (and the Event Log source
                  "wfpwatch") to run 'EXE service run --config FILE';
                  copies nothing, checks the configuration first
  uninstall [--purge]
                  stop it, put the host back, delete the service and the
                  Event Log source; --purge also deletes the history
                  database, the bookmark and the service log
  start, stop, restart
                  start it (the configuration is checked first), stop it
                  (waits until it has put the host back), or both
  status          state, pid, start type, account, binary path,
                  configuration, recovery actions

The configuration file (TOML, docs/config.md; 'wfpwatch config example'
prints one with every key) holds watch's settings in [watch], the dashboard
in [dashboard] and the service's log file in [log]:

  [watch]
  packets = true
  output = ['file://C:\logs\wfp-blocks.json']
  db-keep = "720h"

The service writes its messages to the Application event log (source
wfpwatch) and to service.log in the state directory. Needs an elevated
prompt.`

// serviceOptions are the flags of the service subcommands.
type serviceOptions struct {
	config  string
	exe     string
	account string
	purge   bool
}

// defaultServiceConfig is where install looks for the configuration file.
func defaultServiceConfig() string { return config.DefaultPath() }

// serviceLogPath is the service's rotating log file.
func serviceLogPath() string { return statedir.Path("service.log") }

func newServiceCmd(stdout, stderr io.Writer) *cobra.Command {
	o := &serviceOptions{}
	c := &cobra.Command{
		Use:   "service install|uninstall|start|stop|restart|status",
		Short: "install and control wfpwatch as a Windows service",
		Long:  serviceHelp,
		Example: `  wfpwatch config example > C:\ProgramData\wfpwatch\wfpwatch.toml
  wfpwatch service install --config C:\ProgramData\wfpwatch\wfpwatch.toml
  wfpwatch service start
  wfpwatch service status
  wfpwatch service uninstall`,
		Args: subcommandArgs,
		RunE: groupRun,
	}
	sub := func(name, short string, run func() error) *cobra.Command {
		s := &cobra.Command{Use: name + " [flags]", Short: short, Args: noArgs, RunE: func(*cobra.Command, []string) error { return run() }}
		c.AddCommand(s)
		return s
	}
	in := sub("install", "register the service and its Event Log source (copies nothing)", func() error { return serviceInstall(o, stdout) })
	in.Flags().StringVar(&o.config, "config", defaultServiceConfig(), "the configuration `file` the service reads at every start")
	in.Flags().StringVar(&o.exe, "exe", "", "the wfpwatch.exe the service runs (default: this one, where it is)")
	in.Flags().StringVar(&o.account, "account", service.LocalSystem, "the `account` the service runs as (see docs/service.md for NT SERVICE\\wfpwatch)")
	un := sub("uninstall", "stop the service, put the host back, delete the service", func() error { return serviceUninstall(o, stdout) })
	un.Flags().BoolVar(&o.purge, "purge", false, "also delete the history database, the bookmark and the service log")
	sub("start", "start the service (the configuration is checked first)", func() error { return serviceStart(stdout) })
	sub("stop", "stop the service; it puts the host back first", func() error { return serviceStop(stdout) })
	sub("restart", "stop the service, then start it (reads the configuration again)", func() error {
		if err := serviceStop(stdout); err != nil {
			return err
		}
		return serviceStart(stdout)
	})
	sub("status", "the service's state, registration and recovery actions", func() error { return serviceStatus(stdout) })
	run := &cobra.Command{
		Use:    "run --config FILE",
		Short:  "run the service's pipeline (what the service control manager starts; in a console: until Ctrl+C)",
		Hidden: true,
		Args:   noArgs,
		RunE:   func(cmd *cobra.Command, _ []string) error { return serviceRun(cmd.Context(), o.config, stdout, stderr) },
	}
	run.Flags().StringVar(&o.config, "config", defaultServiceConfig(), "the configuration `file`")
	c.AddCommand(run)
	return c
}

// serviceNeedsWindows adds what to do instead on another system.
func serviceNeedsWindows(err error) error {
	if errors.Is(err, service.ErrNeedsWindows) {
		return fmt.Errorf("%w\non this system, 'wfpwatch analyze' reads saved logs", err)
	}
	return err
}

// checkServiceConfig reads and checks the configuration file path.
func checkServiceConfig(path string) (*watchOptions, []string, error) {
	cfg, o, err := loadServiceConfig(path)
	if err != nil {
		return nil, nil, err
	}
	args, _ := cfg.WatchArgs()
	return o, args, nil
}

func serviceInstall(o *serviceOptions, w io.Writer) error {
	exe := o.exe
	if exe == "" {
		var err error
		if exe, err = os.Executable(); err != nil {
			return fmt.Errorf("find this wfpwatch.exe: %w; give it with --exe", err)
		}
	}
	exe, err := filepath.Abs(exe)
	if err != nil {
		return fmt.Errorf("--exe: %w", err)
	}
	if st, err := os.Stat(exe); err != nil || !st.Mode().IsRegular() {
		return usagef("--exe %s: not a file; give the full path of the wfpwatch.exe the service should run", output.TermSafe(exe))
	}
	cfg, err := filepath.Abs(o.config)
	if err != nil {
		return fmt.Errorf("--config: %w", err)
	}
	if _, err := os.Stat(cfg); errors.Is(err, fs.ErrNotExist) {
		return usagef("--config %s: no such file; write it first ('wfpwatch config example > %s' gives one with every key; docs/config.md), then install", output.TermSafe(cfg), output.TermSafe(cfg))
	}
	if _, _, err := checkServiceConfig(cfg); err != nil {
		return fmt.Errorf("the configuration is not valid, nothing was installed:\n%w", err)
	}
	fmt.Fprintf(w, "configuration %s: valid\n", cfg)
	if _, err := service.Query(); err == nil {
		return service.ErrInstalled
	} else if !errors.Is(err, service.ErrNotInstalled) {
		return serviceNeedsWindows(err)
	}
	if err := service.Install(service.InstallOptions{Exe: exe, Config: cfg, Account: o.account}, w); err != nil {
		return serviceNeedsWindows(err)
	}
	fmt.Fprintf(w, "messages: the Application event log (source %s) and %s\n", service.Name, serviceLogPath())
	fmt.Fprintf(w, "nothing was copied: the service runs %s where it is, and reads %s at every start\n", exe, cfg)
	fmt.Fprintf(w, "not started yet: 'wfpwatch service start' starts it now; Windows starts it at the next boot\n")
	return nil
}

// serviceStatePath returns the audit snapshot path of the installed
// service: --state in its configuration, or the default.
func serviceStatePath() string {
	st, err := service.Query()
	if err != nil || st.Config == "" {
		return audit.DefaultStatePath()
	}
	if o, _, err := checkServiceConfig(st.Config); err == nil && o.state != "" {
		return o.state
	}
	return audit.DefaultStatePath()
}

func serviceUninstall(o *serviceOptions, w io.Writer) error {
	st, err := service.Query()
	if err != nil {
		return serviceNeedsWindows(err)
	}
	var opts *watchOptions
	if st.Config != "" {
		opts, _, _ = checkServiceConfig(st.Config) // for --state, --db, --bookmark
	}
	if opts == nil {
		opts = &watchOptions{state: audit.DefaultStatePath(), dbFlags: &store.Flags{}}
	}
	running, err := service.Stop(service.StopTimeout)
	if err != nil {
		return fmt.Errorf("%w\nnothing was uninstalled; try again, or 'wfpwatch service status'", err)
	}
	if running {
		fmt.Fprintf(w, "stopped the service (it put the host back as it stopped)\n")
	}
	// A service that crashed could not put the host back: do it now.
	if err := serviceRestoreHost(opts.state, w); err != nil {
		return fmt.Errorf("%w\nthe service is still installed; fix this, then uninstall again", err)
	}
	if err := service.Remove(w); err != nil {
		return err
	}
	if !o.purge {
		fmt.Fprintf(w, "kept: the history database, the bookmark, the service log and the configuration %s ('uninstall --purge' deletes all but the configuration)\n", st.Config)
		return nil
	}
	var files []string
	if db, err := opts.dbFlags.Path(!opts.noDB); err == nil && db != "" {
		files = append(files, db, db+"-wal", db+"-shm")
	}
	if opts.bookmark != "" {
		files = append(files, opts.bookmark)
	}
	logPath := serviceLogPath()
	if c, _, err := loadServiceConfig(st.Config); err == nil && c.Log.File != "" {
		logPath = c.Log.File // [log] file of the configuration
	}
	logs, _ := filepath.Glob(logPath + "*")
	files = append(files, logs...)
	for _, f := range files {
		switch err := os.Remove(f); {
		case err == nil:
			fmt.Fprintf(w, "deleted %s\n", f)
		case !errors.Is(err, fs.ErrNotExist):
			fmt.Fprintf(w, "warning: %s not deleted: %v\n", f, err)
		}
	}
	fmt.Fprintf(w, "kept the configuration %s (you wrote it)\n", st.Config)
	return nil
}

// serviceRestoreHost puts back an audit-policy or engine-option change
// that a service which did not stop cleanly left behind (what 'wfpwatch
// audit restore' does).
func serviceRestoreHost(state string, w io.Writer) error {
	m, err := auditManager(state, "service uninstall")
	if err != nil {
		return err
	}
	r, err := m.Restore(false)
	if err != nil {
		return fmt.Errorf("put the audit policy back: %w", err)
	}
	if r != nil {
		fmt.Fprintf(w, "%s\n", r.Summary())
	} else {
		fmt.Fprintf(w, "audit policy: no change by wfpwatch is outstanding\n")
	}
	return restoreEngineOptions(state, false, w)
}

func serviceStart(w io.Writer) error {
	st, err := service.Query()
	if err != nil {
		return serviceNeedsWindows(err)
	}
	if st.Config != "" {
		if _, _, err := checkServiceConfig(st.Config); err != nil {
			return fmt.Errorf("the configuration is not valid, the service was not started:\n%w", err)
		}
	}
	if err := service.Start(service.StartWaitHint * 3); err != nil {
		return err
	}
	fmt.Fprintf(w, "the service is running; its messages go to the Application log (source %s) and %s\n", service.Name, serviceLogPath())
	return nil
}

func serviceStop(w io.Writer) error {
	running, err := service.Stop(service.StopTimeout)
	if err != nil {
		return serviceNeedsWindows(err)
	}
	if !running {
		fmt.Fprintf(w, "the service was not running\n")
		return nil
	}
	fmt.Fprintf(w, "the service stopped (the audit policy and engine options were put back first)\n")
	return nil
}

func serviceStatus(w io.Writer) error {
	st, err := service.Query()
	if err != nil {
		return serviceNeedsWindows(err)
	}
	st.LogFile = serviceLogPath()
	st.Write(w)
	return nil
}

// serviceRun runs the pipeline of watch with the configuration's flags:
// under the service control manager as the service's handler, otherwise
// in the console until Ctrl+C (for debugging).
func serviceRun(ctx context.Context, config string, stdout, stderr io.Writer) error {
	isService, err := service.IsService()
	if err != nil {
		return fmt.Errorf("svc.IsWindowsService: %w", err)
	}
	logPath := serviceLogPath()
	rf := &service.RotatingFile{Path: logPath, MaxSize: service.DefaultLogSize, Keep: service.DefaultLogKeep}
	// [log] of the configuration, when it can be read; a configuration
	// with errors is reported below, through the default log.
	if c, _, err := loadServiceConfig(config); err == nil {
		if c.Log.File != "" {
			logPath, rf.Path = c.Log.File, c.Log.File
		}
		if c.Log.MaxSize > 0 {
			rf.MaxSize = c.Log.MaxSize
		}
		if c.Log.Keep > 0 {
			rf.Keep = c.Log.Keep
		}
	}
	var file io.Writer
	defer rf.Close()
	if err := statedir.EnsureFor(logPath); err == nil {
		file = rf
	} else {
		fmt.Fprintf(stderr, "wfpwatch: warning: no service log file: %v\n", err)
	}
	prepare := func(logw io.Writer, log *service.Logger) (func(context.Context) error, error) {
		cfg, o, err := loadServiceConfig(config)
		if err != nil {
			return nil, err
		}
		args, _ := cfg.WatchArgs()
		log.Logf(service.Info, "starting with the configuration %s: watch %s", config, strings.Join(args, " "))
		var serveArgs []string
		if cfg.Dashboard != nil {
			serveArgs, _ = cfg.DashboardArgs()
			log.Logf(service.Info, "dashboard: serve %s", strings.Join(serveArgs, " "))
		}
		return func(ctx context.Context) error {
			out := io.Discard
			if !isService {
				out = stdout
			}
			return runWatchAndServe(ctx, o, cfg.Dashboard != nil, serveArgs, out, logw)
		}, nil
	}
	if !isService {
		log := service.NewLogger(nil, file)
		logw := io.MultiWriter(stderr, log)
		run, err := prepare(logw, log)
		if err != nil {
			log.Logf(service.Error, "the service did not start: %v", err)
			return err
		}
		defer log.Flush()
		return run(ctx)
	}
	events, closer, err := service.OpenEventLog()
	if err != nil {
		events = nil
	} else {
		defer closer.Close()
	}
	log := service.NewLogger(events, file)
	if err != nil {
		log.Logf(service.Warning, "warning: %v: messages go to %s only", err, logPath)
	}
	defer log.Flush()
	h := &service.Handler{Log: log, Prepare: func() (func(context.Context) error, error) { return prepare(log, log) }}
	return service.Run(h)
}
