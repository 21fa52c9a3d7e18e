package sriovrdma

import (
	"errors"
	"fmt"

	"github.com/containernetworking/plugins/pkg/ns"
	"github.com/sriov-rdma/sriov-rdma/pkg/rdma"
	"github.com/sriov-rdma/sriov-rdma/pkg/state"
)

// hardRDMAHome moves hardware RDMA devices back from the pod. The request
// runs on a thread inside the pod netns: from the host the kernel answers
// ENODEV.
func (p *Plugin) hardRDMAHome(r *run, rec *state.Record, host, pod ns.NetNS) error {
	if !rec.RDMAInPod || pod == nil {
		return nil
	}
	var errs []error
	for _, d := range rec.RDMA {
		if d.Kind.ReCreated() {
			continue
		}
		in, err := p.RDMA.Exists(pod, d.Name)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		if !in {
			continue
		}
		if err := p.RDMA.Move(d.Name, pod, host); err != nil {
			errs = append(errs, fmt.Errorf("move RDMA device %s home: %w", d.Name, err))
			continue
		}
		r.log.Debug("RDMA device home", "rdma", d.Name)
	}
	return errors.Join(errs...)
}

// softRDMAOut deletes the software RDMA devices ADD re-created for the pod.
// Moving the netdev home would destroy them anyway; deleting them first
// keeps the pod's verbs users from seeing a half-gone device. A copy left
// on the host by a failed move is bound to the same netdev and goes with
// it the same way; a host device of that name bound to the netdev at home
// is the node's own, so only the pod is looked at.
func (p *Plugin) softRDMAOut(rec *state.Record, pod ns.NetNS) error {
	if !rec.RDMAInPod || pod == nil {
		return nil
	}
	var errs []error
	for _, d := range rec.RDMA {
		if !d.Kind.ReCreated() {
			continue
		}
		ok, err := p.RDMA.Exists(pod, d.Name)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		if ok {
			if err := p.RDMA.DelSoft(pod, d.Name); err != nil {
				errs = append(errs, err)
			}
		}
	}
	return errors.Join(errs...)
}

// recreateSoftRDMA puts back, on the host, the software RDMA devices the
// kernel destroyed when the netdev left.
func (p *Plugin) recreateSoftRDMA(r *run, rec *state.Record, host ns.NetNS, netdevName string) error {
	var errs []error
	for _, d := range rec.RDMA {
		if !d.Kind.ReCreated() {
			continue
		}
		ok, err := p.RDMA.Exists(host, d.Name)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		if ok {
			continue
		}
		if err := p.RDMA.AddSoft(host, d.Name, d.Type, netdevName); err != nil {
			if errors.Is(err, rdma.ErrNoRDMA) {
				continue
			}
			errs = append(errs, fmt.Errorf("re-create %s device %s on %s: %w", d.Type, d.Name, netdevName, err))
			continue
		}
		r.log.Info("software RDMA device re-created on the host", "rdma", d.Name, "netdev", netdevName)
	}
	return errors.Join(errs...)
}
