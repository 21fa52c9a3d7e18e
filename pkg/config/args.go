package config

import (
	"strings"

	"github.com/containernetworking/cni/pkg/types"
)

// parseArgs reads the Kubernetes keys from CNI_ARGS ("K=V;K=V"). Other keys,
// IgnoreUnknown among them, are ignored: runtimes add their own. It returns
// what it could read even when some pair is malformed.
func parseArgs(s string) (K8sArgs, *types.Error) {
	var a K8sArgs
	var first *types.Error
	for _, pair := range strings.Split(s, ";") {
		// An empty pair (a trailing or doubled ';') carries nothing; refusing
		// it would fail pods over punctuation.
		if pair == "" {
			continue
		}
		k, v, ok := strings.Cut(pair, "=")
		if !ok || k == "" {
			if first == nil {
				first = badArgs(`invalid CNI_ARGS pair %s: must be KEY=VALUE pairs separated by ";", e.g. "K8S_POD_NAMESPACE=default;K8S_POD_NAME=pod-1"`, quote(pair))
			}
			continue
		}
		switch k {
		case "K8S_POD_NAMESPACE":
			a.PodNamespace = v
		case "K8S_POD_NAME":
			a.PodName = v
		case "K8S_POD_UID":
			a.PodUID = v
		case "K8S_POD_INFRA_CONTAINER_ID":
			a.InfraContainerID = v
		}
	}
	return a, first
}
