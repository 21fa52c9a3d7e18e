package config

import (
	"strconv"
	"unicode/utf8"
)

// maxQuoted bounds how much of a bad value an error message repeats: enough to
// recognise it, not a megabyte of it in the runtime's event log.
const maxQuoted = 64

// quote renders a user-supplied string for an error message: Go-quoted, so
// whitespace, NUL and newlines are visible and cannot forge log lines.
func quote(s string) string {
	if len(s) <= maxQuoted {
		return strconv.Quote(s)
	}
	cut := maxQuoted
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	return strconv.Quote(s[:cut]) + "..."
}
