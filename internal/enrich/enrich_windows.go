package enrich

import (
	"fmt"
	"sort"
	"strings"
	"sync"
	"time"
	"unsafe"

	"golang.org/x/sys/windows"
)

// New returns an Enricher over this machine: volumes and mount points,
// processes and services, and account names.
func New() *Enricher {
	return &Enricher{
		Paths:  &PathMap{Load: LoadMappings},
		Procs:  NewProcs(loadProc, 4096),
		SIDs:   NewSIDs(lookupSID, 4096),
		Casing: NewCasing(realCase, 4096),
	}
}

// realCase opens path without access rights (FILE_FLAG_BACKUP_SEMANTICS
// also opens directories) and asks for its final DOS path, which has the
// file system's letter case.
func realCase(path string) (string, error) {
	p, err := windows.UTF16PtrFromString(path)
	if err != nil {
		return "", err
	}
	h, err := windows.CreateFile(p, 0, windows.FILE_SHARE_READ|windows.FILE_SHARE_WRITE|windows.FILE_SHARE_DELETE, nil,
		windows.OPEN_EXISTING, windows.FILE_FLAG_BACKUP_SEMANTICS, 0)
	if err != nil {
		return "", fmt.Errorf("CreateFile(%s): %w", path, err)
	}
	defer windows.CloseHandle(h)
	buf := make([]uint16, 1024)
	n, err := windows.GetFinalPathNameByHandle(h, &buf[0], uint32(len(buf)), volumeNameDOS)
	if err != nil {
		return "", fmt.Errorf("GetFinalPathNameByHandle: %w", err)
	}
	if int(n) > len(buf) {
		return "", fmt.Errorf("GetFinalPathNameByHandle: path longer than %d", len(buf))
	}
	s := windows.UTF16ToString(buf[:n])
	switch {
	case strings.HasPrefix(s, `\\?\UNC\`):
		s = `\\` + s[len(`\\?\UNC\`):]
	case strings.HasPrefix(s, `\\?\`):
		s = s[len(`\\?\`):]
	}
	return s, nil
}

// LoadMappings lists device → DOS mappings: every drive letter
// (QueryDosDevice) and every volume mount folder
// (FindFirstVolume/GetVolumePathNamesForVolumeName).
func LoadMappings() ([]Mapping, error) {
	var out []Mapping
	buf := make([]uint16, windows.MAX_PATH)
	for c := 'A'; c <= 'Z'; c++ {
		drive := string(c) + ":"
		n, err := windows.QueryDosDevice(windows.StringToUTF16Ptr(drive), &buf[0], uint32(len(buf)))
		if err != nil || n == 0 {
			continue
		}
		out = append(out, Mapping{Device: windows.UTF16ToString(buf), DOS: drive + `\`})
	}
	vol := make([]uint16, windows.MAX_PATH)
	h, err := windows.FindFirstVolume(&vol[0], uint32(len(vol)))
	if err != nil {
		return out, nil
	}
	defer windows.FindVolumeClose(h)
	for {
		name := windows.UTF16ToString(vol) // \\?\Volume{guid}\
		inner := strings.TrimSuffix(strings.TrimPrefix(name, `\\?\`), `\`)
		if n, err := windows.QueryDosDevice(windows.StringToUTF16Ptr(inner), &buf[0], uint32(len(buf))); err == nil && n > 0 {
			dev := windows.UTF16ToString(buf)
			paths := make([]uint16, 4096)
			var got uint32
			if windows.GetVolumePathNamesForVolumeName(windows.StringToUTF16Ptr(name), &paths[0], uint32(len(paths)), &got) == nil {
				for _, p := range splitMulti(paths[:got]) {
					out = append(out, Mapping{Device: dev, DOS: p})
				}
			}
		}
		if err := windows.FindNextVolume(h, &vol[0], uint32(len(vol))); err != nil {
			break
		}
	}
	return out, nil
}

func splitMulti(u []uint16) []string {
	var out []string
	start := 0
	for i, c := range u {
		if c == 0 {
			if i > start {
				out = append(out, windows.UTF16ToString(u[start:i]))
			}
			start = i + 1
		}
	}
	return out
}

var (
	svcMu   sync.Mutex
	svcMap  map[uint32][]string
	svcTime time.Time
)

// servicesByPID lists running services per pid (EnumServicesStatusEx with
// SC_ENUM_PROCESS_INFO), refreshed at most every 10 s.
func servicesByPID() map[uint32][]string {
	svcMu.Lock()
	defer svcMu.Unlock()
	if svcMap != nil && time.Since(svcTime) < 10*time.Second {
		return svcMap
	}
	m := map[uint32][]string{}
	scm, err := windows.OpenSCManager(nil, nil, windows.SC_MANAGER_ENUMERATE_SERVICE)
	if err == nil {
		defer windows.CloseServiceHandle(scm)
		var need, count, resume uint32
		buf := make([]byte, 64<<10)
		for {
			err = windows.EnumServicesStatusEx(scm, windows.SC_ENUM_PROCESS_INFO, windows.SERVICE_WIN32, windows.SERVICE_ACTIVE,
				&buf[0], uint32(len(buf)), &need, &count, &resume, nil)
			if err == windows.ERROR_MORE_DATA && need > uint32(len(buf)) && resume == 0 {
				buf = make([]byte, need)
				continue
			}
			if err != nil && err != windows.ERROR_MORE_DATA {
				break
			}
			for _, s := range unsafe.Slice((*windows.ENUM_SERVICE_STATUS_PROCESS)(unsafe.Pointer(&buf[0])), count) {
				if pid := s.ServiceStatusProcess.ProcessId; pid != 0 {
					m[pid] = append(m[pid], windows.UTF16PtrToString(s.ServiceName))
				}
			}
			if err == nil {
				break
			}
		}
	}
	for _, v := range m {
		sort.Strings(v)
	}
	svcMap, svcTime = m, time.Now()
	return m
}

func loadProc(pid uint32) (ProcInfo, error) {
	h, err := windows.OpenProcess(windows.PROCESS_QUERY_LIMITED_INFORMATION, false, pid)
	if err != nil {
		return ProcInfo{}, fmt.Errorf("OpenProcess(%d): %w", pid, err)
	}
	defer windows.CloseHandle(h)
	pi := ProcInfo{PID: pid}
	buf := make([]uint16, 1024)
	n := uint32(len(buf))
	if windows.QueryFullProcessImageName(h, 0, &buf[0], &n) == nil {
		pi.Image = windows.UTF16ToString(buf[:n])
	}
	var create, exit, kernel, user windows.Filetime
	if windows.GetProcessTimes(h, &create, &exit, &kernel, &user) == nil {
		pi.Start = time.Unix(0, create.Nanoseconds())
	}
	pi.Services = servicesByPID()[pid]
	return pi, nil
}

func lookupSID(s string) (string, error) {
	sid, err := windows.StringToSid(s)
	if err != nil {
		return "", err
	}
	account, domain, _, err := sid.LookupAccount("")
	if err != nil {
		return "", fmt.Errorf("LookupAccountSid(%s): %w", s, err)
	}
	if domain == "" {
		return account, nil
	}
	return domain + `\` + account, nil
}

// volumeNameDOS is VOLUME_NAME_DOS (| FILE_NAME_NORMALIZED, 0) for
// GetFinalPathNameByHandle: a "\\?\C:\..." path.
const volumeNameDOS = 0x0
