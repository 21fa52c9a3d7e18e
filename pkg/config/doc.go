// Package config turns the netconf a runtime hands the plugin on stdin (plus
// CNI_ARGS) into a validated, resolved Config.
//
// It is pure: it reads only the bytes and strings it is given, so every rule can
// be checked before anything on the host changes. Field names follow sriov-cni,
// so NetworkAttachmentDefinitions written for sriov-cni + rdma-cni carry over.
//
// Every error it returns is a *types.Error whose code tells the runtime what
// kind of mistake it is and whose message names the field, the bad value and
// what is allowed.
package config
