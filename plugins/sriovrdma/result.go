package sriovrdma

import (
	"fmt"

	current "github.com/containernetworking/cni/pkg/types/100"
)

// printResult writes the result in the cniVersion the runtime asked for.
func (p *Plugin) printResult(res *current.Result, cniVersion string) error {
	out, err := res.GetAsVersion(cniVersion)
	if err != nil {
		return fmt.Errorf("convert result to cniVersion %s: %w", cniVersion, err)
	}
	if err := out.PrintTo(p.Stdout); err != nil {
		return fmt.Errorf("print result: %w", err)
	}
	return nil
}
