package config

import "github.com/containernetworking/cni/pkg/types"

// checkRates checks the VF's tx rate limits, in Mbps.
func checkRates(b *build) *types.Error {
	minR, maxR := b.net.MinTxRate, b.net.MaxTxRate
	if minR != nil && *minR < 0 {
		return invalid("invalid min_tx_rate %d: must be an integer >= 0 (Mbps; 0 = no guarantee)", *minR)
	}
	if maxR != nil && *maxR < 0 {
		return invalid("invalid max_tx_rate %d: must be an integer >= 0 (Mbps; 0 = no limit)", *maxR)
	}
	// max 0 means "no limit", so any minimum fits under it.
	if minR != nil && maxR != nil && *maxR != 0 && *minR > *maxR {
		return invalid("invalid min_tx_rate %d: must not exceed max_tx_rate %d (Mbps; max_tx_rate 0 = no limit)", *minR, *maxR)
	}
	b.cfg.VF.MinTxRate = clonePtr(minR)
	b.cfg.VF.MaxTxRate = clonePtr(maxR)
	return nil
}
