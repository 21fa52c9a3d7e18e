package config

import (
	"log/slog"

	"github.com/containernetworking/cni/pkg/types"

	"github.com/sriov-rdma/sriov-rdma/pkg/confine"
)

// Options are what the node decides and no netconf can change.
type Options struct {
	// Roots bound the paths a netconf may name (stateDir, logFile,
	// runtimeConfig.CNIDeviceInfoFile).
	Roots confine.Roots
}

// DefaultOptions are a node's without a node settings file.
func DefaultOptions() Options { return Options{Roots: confine.Default()} }

// build carries one load: the decoded netconf and the Config being resolved.
type build struct {
	net     *NetConf // &cfg.Net
	ipamSet bool     // "ipam" was present with a non-null value
	cfg     *Config
	opts    Options
}

// step checks one concern and, only when it passes, fills its part of cfg, so
// a lenient load keeps every part that is valid and the defaults for the rest.
type step func(*build) *types.Error

// steps run in the order problems are reported: the first failing step's error
// is the one the user sees.
func steps() []step {
	return []step{
		checkType,
		checkName,
		checkVersion,
		checkDevice,
		checkMAC,
		checkVLAN,
		checkSwitches,
		checkRates,
		checkMTU,
		checkRDMA,
		checkStateDir,
		checkLogFile,
		checkDeviceInfoFile,
		checkLogLevel,
		checkIPAM,
		checkGUID,
		checkPKey,
		checkPrevResult,
	}
}

// Load parses and validates the netconf and CNI_ARGS for ADD and CHECK.
// Every error is a *types.Error: code 6 for stdin that is not a JSON object,
// 1 for an unsupported cniVersion, 4 for malformed CNI_ARGS, 7 for everything
// else (a wrong JSON type, a bad value, oversize stdin).
func Load(stdin []byte, cniArgs string) (*Config, error) {
	return LoadWith(stdin, cniArgs, DefaultOptions())
}

// LoadWith is Load with the node's options.
func LoadWith(stdin []byte, cniArgs string, o Options) (*Config, error) {
	cfg, err := resolve(stdin, cniArgs, o)
	if err != nil {
		return nil, err
	}
	return cfg, nil
}

// LoadLenient is for DEL, GC and STATUS, which must work even when a config no
// longer validates (it may have been edited since ADD, and DEL must not fail
// when there is nothing to undo). It returns every part that is valid, defaults
// for the rest, and the first validation error (nil if there is none). The
// Config is never nil.
func LoadLenient(stdin []byte, cniArgs string) (*Config, error) {
	return resolve(stdin, cniArgs, DefaultOptions())
}

// LoadLenientWith is LoadLenient with the node's options.
func LoadLenientWith(stdin []byte, cniArgs string, o Options) (*Config, error) {
	return resolve(stdin, cniArgs, o)
}

// resolve always returns a Config; err is the first problem found, or nil.
// The error is returned as the error interface only when non-nil, so callers
// never see a typed nil.
func resolve(stdin []byte, cniArgs string, o Options) (*Config, error) {
	cfg := &Config{
		Raw:       stdin,
		RDMA:      RDMAAuto,
		StateDir:  DefaultStateDir,
		StateRoot: DefaultStateRoot,
		LogLevel:  slog.LevelInfo,
	}
	b := &build{net: &cfg.Net, cfg: cfg, opts: o}

	var first *types.Error
	note := func(e *types.Error) {
		if e != nil && first == nil {
			first = e
		}
	}

	d, decodeErr := decode(stdin, &cfg.Net)
	note(decodeErr)
	if d.ok {
		b.ipamSet = d.ipamSet
		for _, s := range steps() {
			note(s(b))
		}
	}

	args, argsErr := parseArgs(cniArgs)
	cfg.Args = args
	note(argsErr)

	if first != nil {
		return cfg, first
	}
	return cfg, nil
}
