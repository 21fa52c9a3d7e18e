package sriovrdma

import (
	"errors"
	"fmt"
)

// undoStack holds what ADD has changed, newest last. Each step pushes its
// undo before it acts, so a step that fails half-way is undone too; every
// undo is written to be harmless when its step never happened.
type undoStack struct {
	r     *run
	fault func(point string)
	items []undoItem
}

type undoItem struct {
	step string
	fn   func() error
}

// step runs one named change of ADD: the undo goes on the stack first, then
// the fault point, then the change; the step's duration is logged.
func (u *undoStack) step(name string, undo func() error, do func() error) error {
	if undo != nil {
		u.push(name, undo)
	}
	u.fault("add:" + name)
	if err := do(); err != nil {
		u.r.mark(name)
		return fmt.Errorf("%s: %w", name, err)
	}
	u.r.mark(name)
	return nil
}

// push puts the undo of a change on the stack, before the change starts.
func (u *undoStack) push(name string, undo func() error) {
	u.items = append(u.items, undoItem{name, undo})
}

// rollback runs every undo, newest first, and carries on past failures: a
// VF half restored is better than one abandoned at the first error.
func (u *undoStack) rollback() error {
	var errs []error
	for i := len(u.items) - 1; i >= 0; i-- {
		it := u.items[i]
		if err := it.fn(); err != nil {
			u.r.log.Error("rollback step failed", "step", it.step, "error", err)
			errs = append(errs, fmt.Errorf("undo %s: %w", it.step, err))
		}
	}
	u.items = nil
	return errors.Join(errs...)
}
