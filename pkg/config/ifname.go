package config

import (
	"strings"
	"unicode"

	"github.com/containernetworking/cni/pkg/types"
)

// maxIfName is IFNAMSIZ less the terminating NUL.
const maxIfName = 15

// CheckIfName refuses a CNI_IFNAME the kernel would not keep as given (code
// 4, before anything changes). Beyond the kernel's own rules (dev_valid_name:
// 1-15 bytes, not "." or "..", no '/', ':' or white space), a '%' makes the
// kernel treat the name as a pattern and pick "net0" for "net%d": the VF
// would land in the pod under a name nobody asked for and no later verb
// would look for.
func CheckIfName(name string) *types.Error {
	const fix = `; give a name such as "net1"`
	switch {
	case name == "":
		return badArgs("missing CNI_IFNAME" + fix)
	case len(name) > maxIfName:
		return badArgs("invalid CNI_IFNAME %s: longer than %d bytes%s", quote(name), maxIfName, fix)
	case name == "." || name == "..":
		return badArgs("invalid CNI_IFNAME %s%s", quote(name), fix)
	case strings.ContainsRune(name, '%'):
		return badArgs("invalid CNI_IFNAME %s: the kernel reads %%d in a name as a pattern and would pick another name%s", quote(name), fix)
	case strings.ContainsAny(name, "/:") || strings.IndexFunc(name, func(r rune) bool { return unicode.IsSpace(r) || r == 0 }) >= 0:
		return badArgs("invalid CNI_IFNAME %s: no '/', ':', NUL or white space%s", quote(name), fix)
	}
	return nil
}
