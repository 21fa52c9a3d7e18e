package config

import (
	"log/slog"
	"strings"

	"github.com/containernetworking/cni/pkg/types"
)

func checkLogLevel(b *build) *types.Error {
	s := b.net.LogLevel
	var lvl slog.Level
	switch strings.ToLower(s) {
	case "":
		return nil
	case "debug":
		lvl = slog.LevelDebug
	case "info":
		lvl = slog.LevelInfo
	case "warn", "warning":
		lvl = slog.LevelWarn
	case "error", "panic":
		// "panic" is what sriov-network-operator renders for its quietest
		// level; this plugin never panics on purpose, so it means errors only.
		lvl = slog.LevelError
	default:
		return invalid(`invalid logLevel %s: must be "debug", "info", "warn" (or "warning"), "error" (or "panic")`, quote(s))
	}
	b.cfg.LogLevel = lvl
	return nil
}
