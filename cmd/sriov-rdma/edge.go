package main

import (
	"encoding/json"
	"fmt"
	"io"
	"os"
	"slices"
	"strings"

	"github.com/containernetworking/cni/pkg/types"
	"github.com/containernetworking/cni/pkg/version"
	"golang.org/x/sys/unix"

	"github.com/sriov-rdma/sriov-rdma/plugins/sriovrdma"
)

// serve answers one invocation the way skel does, and adds what the spec
// asks and the library does not do: VERSION answers in the cniVersion it
// was asked in, and an error object carries a cniVersion. dispatch runs
// skel on the same stdin; serve prints its error and returns the exit
// status.
func serve(getenv func(string) string, stdin io.Reader, stdout io.Writer, info version.PluginInfo, dispatch func(stdin []byte) *types.Error) int {
	if getenv("CNI_COMMAND") == "" {
		// Run by hand: skel prints what the binary is. stdin, maybe a
		// terminal, is not read (dispatch gets nil), as skel does not.
		if e := dispatch(nil); e != nil {
			return printError(stdout, newest(info), specCode(e))
		}
		return 0
	}
	data, err := io.ReadAll(stdin)
	if err != nil {
		return printError(stdout, errorVersion(nil, info), types.NewError(sriovrdma.CodeIOFailure, fmt.Sprintf("read stdin: %v", err), ""))
	}
	if getenv("CNI_COMMAND") == "VERSION" {
		if err := printVersion(stdout, data, info); err != nil {
			return printError(stdout, errorVersion(data, info), types.NewError(sriovrdma.CodeIOFailure, err.Error(), ""))
		}
		return 0
	}
	e := dispatch(data)
	if e == nil {
		return 0
	}
	return printError(stdout, errorVersion(data, info), specCode(e))
}

// requestVersion is the cniVersion of the netconf (or VERSION request) on
// stdin: "" when stdin is not a JSON object or has no string cniVersion.
func requestVersion(stdin []byte) string {
	var req struct {
		CNIVersion any `json:"cniVersion"`
	}
	if json.Unmarshal(stdin, &req) != nil {
		return ""
	}
	v, _ := req.CNIVersion.(string)
	return v
}

// versionAnswer is the VERSION result. Its cniVersion is the one the
// request named (SPEC: "the value of cniVersion specified on input"), as
// long as it reads as a version; a request without one (older runtimes
// send no stdin) or with one that is no version gets the newest version
// the plugin speaks, which is what the library answers too.
func versionAnswer(stdin []byte, info version.PluginInfo) any {
	v := requestVersion(stdin)
	if _, _, _, err := version.ParseVersion(v); v == "" || err != nil {
		v = newest(info)
	}
	return struct {
		CNIVersion        string   `json:"cniVersion"`
		SupportedVersions []string `json:"supportedVersions"`
	}{v, info.SupportedVersions()}
}

func printVersion(w io.Writer, stdin []byte, info version.PluginInfo) error {
	b, err := json.Marshal(versionAnswer(stdin, info))
	if err != nil {
		return fmt.Errorf("encode version info: %w", err)
	}
	if _, err := w.Write(append(b, '\n')); err != nil {
		return fmt.Errorf("print version info: %w", err)
	}
	return nil
}

// errorVersion is the cniVersion an error object is printed in: the
// netconf's, when the plugin speaks it; otherwise (no netconf, not JSON,
// no cniVersion, one the plugin does not support, which may be the very
// error) the newest version the plugin speaks, since that is the only
// kind of error object it can vouch for.
func errorVersion(stdin []byte, info version.PluginInfo) string {
	v := requestVersion(stdin)
	if slices.Contains(info.SupportedVersions(), v) {
		return v
	}
	return newest(info)
}

func newest(info version.PluginInfo) string {
	best := ""
	for _, v := range info.SupportedVersions() {
		if newer, err := version.GreaterThan(v, best); best == "" || (err == nil && newer) {
			best = v
		}
	}
	return best
}

// specCode keeps codes 0-99 to their spec meaning for errors the library
// makes: skel answers 8, which the spec does not define, when CNI_NETNS is
// the plugin's own namespace, an invalid variable (4) by the spec's table.
// 0 would read as no code at all.
func specCode(e *types.Error) *types.Error {
	out := *e
	switch e.Code {
	case types.ErrInvalidNetNS:
		out.Code = sriovrdma.CodeInvalidEnv
	case types.ErrUnknown:
		out.Code = sriovrdma.CodeInternal
	}
	return &out
}

// errorObject is the spec's error: cniVersion, code, msg, details.
type errorObject struct {
	CNIVersion string `json:"cniVersion"`
	Code       uint   `json:"code"`
	Msg        string `json:"msg"`
	Details    string `json:"details,omitempty"`
}

// printError prints e as the spec's error object and returns the exit
// status of a failed invocation.
func printError(w io.Writer, cniVersion string, e *types.Error) int {
	b, err := json.MarshalIndent(errorObject{cniVersion, e.Code, e.Msg, e.Details}, "", "    ")
	if err == nil {
		_, err = w.Write(append(b, '\n'))
	}
	if err != nil {
		fmt.Fprintf(os.Stderr, "sriov-rdma: print error %q: %v\n", e.Error(), err)
	}
	return 1
}

// stdinFor is what serve reads as stdin: VERSION run by hand at a terminal
// reads nothing instead of waiting for input, since its cniVersion is
// optional (the newest is answered without one).
func stdinFor(cmd string, f *os.File) io.Reader {
	if _, err := unix.IoctlGetTermios(int(f.Fd()), unix.TCGETS); cmd == "VERSION" && err == nil {
		return strings.NewReader("")
	}
	return f
}

// refeedStdin puts data back on file descriptor 0 for skel, which reads
// the netconf from os.Stdin itself after serve has read it: an in-memory
// file holding the same bytes replaces the descriptor, so skel reads them
// whatever stdin was (a pipe, a file, a terminal).
func refeedStdin(data []byte) error {
	fd, err := unix.MemfdCreate("sriov-rdma-stdin", unix.MFD_CLOEXEC)
	if err != nil {
		return fmt.Errorf("memfd: %w", err)
	}
	f := os.NewFile(uintptr(fd), "stdin")
	defer func() { _ = f.Close() }()
	if _, err := f.Write(data); err != nil {
		return fmt.Errorf("write stdin copy: %w", err)
	}
	if _, err := f.Seek(0, io.SeekStart); err != nil {
		return fmt.Errorf("rewind stdin copy: %w", err)
	}
	if err := unix.Dup3(fd, 0, 0); err != nil {
		return fmt.Errorf("put stdin copy on fd 0: %w", err)
	}
	return nil
}
