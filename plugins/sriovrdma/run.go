package sriovrdma

import (
	"errors"
	"fmt"
	"io"
	"log/slog"
	"time"

	"github.com/containernetworking/cni/pkg/skel"
	"github.com/containernetworking/cni/pkg/types"

	"github.com/sriov-rdma/sriov-rdma/pkg/config"
	"github.com/sriov-rdma/sriov-rdma/pkg/confine"
)

// run is one verb invocation: its logger, its step timings and the facts the
// closing log record carries.
type run struct {
	verb    string
	args    *skel.CmdArgs
	start   time.Time
	last    time.Time
	now     func() time.Time
	log     *slog.Logger
	closer  io.Closer
	steps   []slog.Attr
	facts   []slog.Attr
	stderr  io.Writer
	logFile string
	// build is the version and commit every record carries.
	build []any
}

func (p *Plugin) begin(verb string, args *skel.CmdArgs) *run {
	now := p.Now
	if now == nil {
		now = time.Now
	}
	t := now()
	r := &run{verb: verb, args: args, start: t, last: t, now: now, stderr: p.Stderr,
		build: []any{slog.String("version", p.Version), slog.String("commit", p.Commit)}}
	r.log = r.logger(r.stderr, slog.LevelError)
	return r
}

// logger writes JSON records at level and above to w, each with the build.
func (r *run) logger(w io.Writer, level slog.Leveler) *slog.Logger {
	return slog.New(slog.NewJSONHandler(w, &slog.HandlerOptions{Level: level})).With(r.build...)
}

// useConfig switches the log to the configured file and level. The file is
// opened for append and closed when the verb ends, so logrotate can move it
// between invocations; it is never reached through a symbolic link. Without
// a log file (or when it cannot be opened) warnings and errors go to
// stderr, which the runtime logs: an attachment that fell back to
// netdev-only is never silent.
func (r *run) useConfig(cfg *config.Config, nodeErr error) {
	r.fact("podNamespace", cfg.Args.PodNamespace)
	r.fact("podName", cfg.Args.PodName)
	r.fact("deviceID", cfg.DeviceID)
	r.log = r.logger(r.stderr, max(cfg.LogLevel, slog.LevelWarn))
	if cfg.LogFile != "" {
		f, err := confine.OpenAppend(cfg.LogRoot, cfg.LogFile, 0o600, 0o700)
		if err != nil {
			r.log.Error("cannot open log file; logging warnings and errors to stderr", "logFile", cfg.LogFile, "error", err)
		} else {
			r.closer = f
			r.logFile = cfg.LogFile
			r.log = r.logger(f, cfg.LogLevel)
		}
	}
	if nodeErr != nil {
		r.log.Warn("node settings file ignored; using the default roots", "error", nodeErr)
	}
}

// mark closes the current step: the time since the previous mark goes into
// the verb's closing record under the step's name.
func (r *run) mark(step string) {
	t := r.now()
	r.steps = append(r.steps, slog.String(step, t.Sub(r.last).Round(time.Microsecond).String()))
	r.last = t
}

// fact sets a field of the closing record; a later value replaces an
// earlier one (DEL learns the device from the journal after the netconf).
func (r *run) fact(key string, v any) {
	if s, ok := v.(string); ok && s == "" {
		return
	}
	for i, f := range r.facts {
		if f.Key == key {
			r.facts[i] = slog.Any(key, v)
			return
		}
	}
	r.facts = append(r.facts, slog.Any(key, v))
}

// finish writes the verb's one summary record and turns err into a CNI
// error: errors already carrying a CNI code keep it, anything else is an
// internal error whose message says which step failed on which device.
func (r *run) finish(err error) error {
	attrs := []any{
		slog.String("containerID", r.args.ContainerID),
		slog.String("ifname", r.args.IfName),
		slog.String("netns", r.args.Netns),
	}
	for _, f := range r.facts {
		attrs = append(attrs, f)
	}
	stepAttrs := make([]any, 0, len(r.steps))
	for _, s := range r.steps {
		stepAttrs = append(stepAttrs, s)
	}
	attrs = append(attrs, slog.Group("steps", stepAttrs...), slog.String("total", r.now().Sub(r.start).Round(time.Microsecond).String()))
	var cniErr *types.Error
	if err != nil {
		if !errors.As(err, &cniErr) {
			cniErr = types.NewError(types.ErrInternal, err.Error(), "")
		} else if cniErr.Code == types.ErrUnknown {
			// A delegated plugin's unparsable answer comes back as code 0,
			// which a runtime would read as no error code at all.
			cniErr = types.NewError(types.ErrInternal, cniErr.Msg, cniErr.Details)
		}
		attrs = append(attrs, slog.String("outcome", "error"), slog.Uint64("code", uint64(cniErr.Code)), slog.String("error", cniErr.Msg))
		r.log.Error(r.verb, attrs...)
	} else {
		attrs = append(attrs, slog.String("outcome", "ok"))
		r.log.Info(r.verb, attrs...)
	}
	if r.closer != nil {
		_ = r.closer.Close()
	}
	if cniErr != nil {
		return cniErr
	}
	return nil
}

// cniError gives err a CNI code, keeping its message.
func cniError(code uint, format string, a ...any) *types.Error {
	return types.NewError(code, fmt.Sprintf(format, a...), "")
}
