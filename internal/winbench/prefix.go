package main

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"
)

// prefixFormat changes when the way the base prefix is made changes, so that
// old cached prefixes are not reused.
const prefixFormat = "winbench-prefix-2"

// initOverrides are the DLL overrides used while wineboot initialises the base
// prefix: no Mono and no Gecko (their installers would ask for a download).
const initOverrides = "mscoree,mshtml="

// readyFile marks a base prefix whose wineboot finished.
const readyFile = ".winbench-ready"

// cacheRoot returns the bench's cache directory: dir when set, else
// $XDG_CACHE_HOME/wfpwatch-winbench (os.UserCacheDir).
func cacheRoot(dir string) (string, error) {
	if dir == "" {
		uc, err := os.UserCacheDir()
		if err != nil {
			return "", fmt.Errorf("no cache directory (%v): set XDG_CACHE_HOME or pass -cache DIR", err)
		}
		dir = filepath.Join(uc, "wfpwatch-winbench")
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", fmt.Errorf("cache directory: %w", err)
	}
	return filepath.Abs(dir)
}

// hashOf returns a short hex SHA-256 of parts.
func hashOf(parts ...string) string {
	h := sha256.New()
	for _, p := range parts {
		fmt.Fprintf(h, "%d:%s\n", len(p), p)
	}
	return hex.EncodeToString(h.Sum(nil))[:16]
}

// basePrefix returns the cached base Wine prefix for this Wine version,
// creating it with wineboot when it is missing (cold). The base prefix is
// only read after it is made: each run works in a copy (newRunPrefix).
func basePrefix(ctx context.Context, t *tools, cache string, out io.Writer) (dir string, warm bool, err error) {
	dir = filepath.Join(cache, "prefix-"+hashOf(prefixFormat, t.wine, t.wineVersion, initOverrides))
	if _, err := os.Stat(filepath.Join(dir, readyFile)); err == nil {
		now := time.Now()
		_ = os.Chtimes(filepath.Join(dir, readyFile), now, now) // mark as used
		return dir, true, nil
	}
	unlock, err := lockFile(filepath.Join(cache, "lock"))
	if err != nil {
		return "", false, err
	}
	defer unlock()
	if _, err := os.Stat(filepath.Join(dir, readyFile)); err == nil {
		return dir, true, nil // another run made it while we waited
	}
	fmt.Fprintf(out, "winbench: creating the Wine prefix %s (once, about 15 s)\n", dir)
	tmp := dir + ".tmp"
	if err := os.RemoveAll(tmp); err != nil {
		return "", false, fmt.Errorf("remove old prefix: %w", err)
	}
	env := append(cleanEnv(), "WINEPREFIX="+tmp, "WINEDEBUG=-all", "WINEDLLOVERRIDES="+initOverrides)
	ctx2, cancel := context.WithTimeout(ctx, 5*time.Minute)
	defer cancel()
	var log bytes.Buffer
	cmd := exec.CommandContext(ctx2, t.wine, "wineboot.exe", "--init")
	cmd.Env, cmd.Stdout, cmd.Stderr = env, &log, &log
	if err := cmd.Run(); err != nil {
		return "", false, fmt.Errorf("wineboot --init: %w\n%s", err, tail(log.Bytes(), 20))
	}
	// wineboot returns before wineserver has written the registry: wait for it.
	ws := exec.CommandContext(ctx2, t.wineserver, "-w")
	ws.Env, ws.Stdout, ws.Stderr = env, &log, &log
	if err := ws.Run(); err != nil {
		return "", false, fmt.Errorf("wineserver -w: %w\n%s", err, tail(log.Bytes(), 20))
	}
	// Wine 8 reports Windows 7 by default; Go and wfpwatch support Windows 10
	// and later, so make the prefix say Windows 10 (build 18362).
	cfg := exec.CommandContext(ctx2, t.wine, "winecfg.exe", "/v", "win10")
	cfg.Env, cfg.Stdout, cfg.Stderr = env, &log, &log
	if err := cfg.Run(); err != nil {
		return "", false, fmt.Errorf("winecfg /v win10: %w\n%s", err, tail(log.Bytes(), 20))
	}
	ws = exec.CommandContext(ctx2, t.wineserver, "-w")
	ws.Env, ws.Stdout, ws.Stderr = env, &log, &log
	if err := ws.Run(); err != nil {
		return "", false, fmt.Errorf("wineserver -w: %w\n%s", err, tail(log.Bytes(), 20))
	}
	if _, err := os.Stat(filepath.Join(tmp, "drive_c", "windows", "system32")); err != nil {
		return "", false, fmt.Errorf("wineboot made no windows/system32 in %s:\n%s", tmp, tail(log.Bytes(), 20))
	}
	if err := os.WriteFile(filepath.Join(tmp, readyFile), []byte(t.wineVersion+"\n"), 0o644); err != nil {
		return "", false, err
	}
	if err := os.RemoveAll(dir); err != nil {
		return "", false, err
	}
	if err := os.Rename(tmp, dir); err != nil {
		return "", false, fmt.Errorf("install prefix: %w", err)
	}
	removeStalePrefixes(cache, dir)
	return dir, false, nil
}

// removeStalePrefixes removes the base prefixes of other Wine versions or
// prefix formats that have not been used for a day (each is ~700 MB).
func removeStalePrefixes(cache, keep string) {
	old, _ := filepath.Glob(filepath.Join(cache, "prefix-*"))
	for _, p := range old {
		if p == keep {
			continue
		}
		if fi, err := os.Stat(filepath.Join(p, readyFile)); err == nil && time.Since(fi.ModTime()) < 24*time.Hour {
			continue
		}
		_ = os.RemoveAll(p)
	}
}

// runPrefix is a throw-away copy of the base prefix for one bench run. Files
// are hard links to the base prefix except the registry, which Wine rewrites;
// installed DLLs replace links instead of writing through them.
type runPrefix struct {
	dir string // the WINEPREFIX of this run
	tmp string // scratch space of this run (test binaries)
	top string // the directory holding both, removed at the end
}

// newRunPrefix copies base into a new directory under cache/runs. It also
// removes run directories left behind by runs that died more than a day ago.
func newRunPrefix(cache, base string) (*runPrefix, error) {
	runs := filepath.Join(cache, "runs")
	if err := os.MkdirAll(runs, 0o755); err != nil {
		return nil, err
	}
	if old, err := os.ReadDir(runs); err == nil {
		for _, e := range old {
			if fi, err := e.Info(); err == nil && time.Since(fi.ModTime()) > 24*time.Hour {
				_ = os.RemoveAll(filepath.Join(runs, e.Name()))
			}
		}
	}
	top, err := os.MkdirTemp(runs, "run-")
	if err != nil {
		return nil, err
	}
	rp := &runPrefix{dir: filepath.Join(top, "prefix"), tmp: filepath.Join(top, "tmp"), top: top}
	if err := os.Mkdir(rp.tmp, 0o755); err != nil {
		return nil, err
	}
	if err := linkTree(base, rp.dir); err != nil {
		_ = os.RemoveAll(top)
		return nil, fmt.Errorf("copy prefix: %w", err)
	}
	return rp, nil
}

// linkTree copies the tree src to dst: directories are made, symlinks copied,
// registry files (*.reg) and the marker copied, other files hard-linked (or
// copied when linking fails, e.g. across file systems).
func linkTree(src, dst string) error {
	return filepath.WalkDir(src, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, err := filepath.Rel(src, p)
		if err != nil {
			return err
		}
		target := filepath.Join(dst, rel)
		switch {
		case d.IsDir():
			return os.Mkdir(target, 0o755)
		case d.Type()&fs.ModeSymlink != 0:
			l, err := os.Readlink(p)
			if err != nil {
				return err
			}
			return os.Symlink(l, target)
		case !d.Type().IsRegular():
			return nil // sockets and the like: Wine makes its own
		case strings.HasSuffix(p, ".reg"):
			return copyFile(p, target)
		default:
			if err := os.Link(p, target); err == nil {
				return nil
			}
			return copyFile(p, target)
		}
	})
}

// copyFile copies src to dst, keeping the modification time (Wine compares
// the prefix's timestamps to decide whether to update it).
func copyFile(src, dst string) error {
	in, err := os.Open(src)
	if err != nil {
		return err
	}
	defer in.Close()
	fi, err := in.Stat()
	if err != nil {
		return err
	}
	out, err := os.OpenFile(dst, os.O_WRONLY|os.O_CREATE|os.O_EXCL, fi.Mode().Perm())
	if err != nil {
		return err
	}
	if _, err := io.Copy(out, in); err != nil {
		out.Close()
		return err
	}
	if err := out.Close(); err != nil {
		return err
	}
	return os.Chtimes(dst, fi.ModTime(), fi.ModTime())
}

// install puts the built DLLs in the run prefix's windows/system32, replacing
// the hard link (or Wine's placeholder) that is there.
func (rp *runPrefix) install(dlls []builtDLL) error {
	sys32 := filepath.Join(rp.dir, "drive_c", "windows", "system32")
	for _, d := range dlls {
		dst := filepath.Join(sys32, d.name+".dll")
		if err := os.Remove(dst); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return fmt.Errorf("install %s.dll: %w", d.name, err)
		}
		if err := copyFile(d.path, dst); err != nil {
			return fmt.Errorf("install %s.dll: %w", d.name, err)
		}
		if d.fwd == nil {
			continue
		}
		// Wine's own DLL under its new name, for the fake's forwarders.
		// It keeps Wine's builtin marker, so Wine loads it as the builtin
		// it is.
		dst = filepath.Join(sys32, d.fwd.renamed+".dll")
		if err := os.Remove(dst); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return fmt.Errorf("install %s.dll: %w", d.fwd.renamed, err)
		}
		if err := copyFile(d.fwd.builtin, dst); err != nil {
			return fmt.Errorf("install %s.dll (Wine's %s.dll): %w", d.fwd.renamed, d.name, err)
		}
	}
	return nil
}

// stop ends the wineserver of the run prefix and the processes it still runs.
func (rp *runPrefix) stop(t *tools) {
	cmd := exec.Command(t.wineserver, "-k")
	cmd.Env = append(cleanEnv(), "WINEPREFIX="+rp.dir)
	_ = cmd.Run()
	cmd = exec.Command(t.wineserver, "-w")
	cmd.Env = append(cleanEnv(), "WINEPREFIX="+rp.dir)
	_ = cmd.Run()
}

// remove deletes the run's prefix and scratch space.
func (rp *runPrefix) remove() error {
	if err := os.RemoveAll(rp.top); err != nil {
		return fmt.Errorf("remove run prefix: %w", err)
	}
	return nil
}

// cleanEnv is the environment for Wine processes: ours without the settings
// that would make Wine use another prefix, show windows or print debug output.
func cleanEnv() []string {
	var env []string
	for _, kv := range os.Environ() {
		k, _, _ := strings.Cut(kv, "=")
		switch k {
		case "WINEPREFIX", "WINEDEBUG", "WINEDLLOVERRIDES", "WINEARCH", "DISPLAY", "WAYLAND_DISPLAY":
			continue
		}
		env = append(env, kv)
	}
	return env
}
