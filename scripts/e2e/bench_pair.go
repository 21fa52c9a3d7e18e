package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"
)

// pairing lets figure 3's two drivers, each with its own node (a PF with
// 8 VFs, one with 256), take turns: run k is the small PF's when k is even,
// the big one's when odd. Interleaved, both see the same machine: other
// work on it shifts both series alike instead of biasing the ratio.
// Coordination is by files in a shared directory; a side that fails says so,
// and the other stops waiting.
type pairing struct {
	dir        string
	ctx        context.Context
	role       int // 0: small PF (vfcount), 1: big PF (full)
	runs, warm int
}

const (
	pairSetupTimeout = 3 * time.Minute  // the other node's set-up
	pairTurnTimeout  = 60 * time.Second // one run of the other side
)

func (p *pairing) path(name string, role int) string {
	return filepath.Join(p.dir, fmt.Sprintf("%s-%d", name, role))
}

func (p *pairing) write(file, content string) error {
	tmp := file + ".tmp"
	if err := os.WriteFile(tmp, []byte(content), 0o644); err != nil {
		return err
	}
	return os.Rename(tmp, file)
}

// fail tells the other side to stop waiting.
func (p *pairing) fail() { _ = p.write(p.path("failed", p.role), "failed\n") }

func (p *pairing) await(what string, timeout time.Duration, done func() (bool, error)) error {
	deadline := time.Now().Add(timeout)
	for {
		ok, err := done()
		if ok || err != nil {
			return err
		}
		if _, err := os.Stat(p.path("failed", 1-p.role)); err == nil {
			return fmt.Errorf("the other node's bench run failed while this one waited for %s", what)
		}
		if p.ctx.Err() != nil {
			return p.ctx.Err()
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("the other node's bench run did not reach %s within %s", what, timeout)
		}
		time.Sleep(2 * time.Millisecond)
	}
}

// ready says this side's node is up and waits for the other's, which must
// run the same number of turns.
func (p *pairing) ready() error {
	if err := os.MkdirAll(p.dir, 0o755); err != nil {
		return err
	}
	mine := fmt.Sprintf("%d %d\n", p.runs, p.warm)
	if err := p.write(p.path("ready", p.role), mine); err != nil {
		return err
	}
	return p.await("its node set-up", pairSetupTimeout, func() (bool, error) {
		theirs, err := os.ReadFile(p.path("ready", 1-p.role))
		if errors.Is(err, os.ErrNotExist) {
			return false, nil
		}
		if err != nil {
			return false, err
		}
		if string(theirs) != mine {
			return false, fmt.Errorf("the other node runs %q (runs warm-ups), this one %q", strings.TrimSpace(string(theirs)), strings.TrimSpace(mine))
		}
		return true, nil
	})
}

// turn is the run whose turn it is: 0 before anyone has passed.
func (p *pairing) turn() int {
	b, err := os.ReadFile(filepath.Join(p.dir, "turn"))
	if err != nil {
		return 0
	}
	n, _ := strconv.Atoi(strings.TrimSpace(string(b)))
	return n
}

func (p *pairing) wait(turn int) error {
	return p.await(fmt.Sprintf("run %d", turn), pairTurnTimeout, func() (bool, error) { return p.turn() == turn, nil })
}

func (p *pairing) pass(turn int) error {
	return p.write(filepath.Join(p.dir, "turn"), strconv.Itoa(turn+1)+"\n")
}

// result waits for the other side's figure 3 results.
func (p *pairing) result(file string, v any) error {
	return p.await("its results", pairTurnTimeout, func() (bool, error) {
		if _, err := os.Stat(file); errors.Is(err, os.ErrNotExist) {
			return false, nil
		} else if err != nil {
			return false, err
		}
		return true, readJSON(file, v)
	})
}

// pairRole is this driver's side of figure 3: 0 when it runs alone.
func (b *bencher) pairRole() int {
	if b.pair == nil {
		return 0
	}
	return b.pair.role
}

// writeJSON writes v whole or not at all: the other driver of figure
// 3 reads the file as soon as it exists.
func writeJSON(file string, v any) error {
	b, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		return err
	}
	if err := os.WriteFile(file+".tmp", append(b, '\n'), 0o644); err != nil {
		return err
	}
	return os.Rename(file+".tmp", file)
}

func readJSON(file string, v any) error {
	b, err := os.ReadFile(file)
	if err != nil {
		return err
	}
	return json.Unmarshal(b, v)
}
