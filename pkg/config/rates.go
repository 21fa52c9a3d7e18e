package config

import (
	"math"

	"github.com/containernetworking/cni/pkg/types"
)

// maxRate is the largest rate the kernel API carries: IFLA_VF_RATE holds
// each rate as a 32-bit count of Mbps; a larger value would wrap around
// (4294967396 would become 100).
const maxRate = math.MaxUint32

// checkRates checks the VF's tx rate limits, in Mbps.
func checkRates(b *build) *types.Error {
	minR, maxR := b.net.MinTxRate, b.net.MaxTxRate
	if minR != nil && (*minR < 0 || *minR > maxRate) {
		return invalid("invalid min_tx_rate %d: must be an integer 0-%d (Mbps; 0 = no guarantee)", *minR, maxRate)
	}
	if maxR != nil && (*maxR < 0 || *maxR > maxRate) {
		return invalid("invalid max_tx_rate %d: must be an integer 0-%d (Mbps; 0 = no limit)", *maxR, maxRate)
	}
	// max 0 means "no limit", so any minimum fits under it.
	if minR != nil && maxR != nil && *maxR != 0 && *minR > *maxR {
		return invalid("invalid min_tx_rate %d: must not exceed max_tx_rate %d (Mbps; max_tx_rate 0 = no limit)", *minR, *maxR)
	}
	b.cfg.VF.MinTxRate = clonePtr(minR)
	b.cfg.VF.MaxTxRate = clonePtr(maxR)
	return nil
}
