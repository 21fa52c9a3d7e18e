package sriovrdma

import (
	"encoding/json"
	"errors"
	"fmt"

	"github.com/containernetworking/cni/pkg/skel"
	"github.com/containernetworking/cni/pkg/types"
	current "github.com/containernetworking/cni/pkg/types/100"

	"github.com/sriov-rdma/sriov-rdma/pkg/config"
	"github.com/sriov-rdma/sriov-rdma/pkg/state"
)

// Add attaches a VF, and its RDMA device, to the pod as one transaction.
func (p *Plugin) Add(args *skel.CmdArgs) (err error) {
	r := p.begin("ADD", args)
	defer func() { err = r.finish(err) }()

	// 1. Parse and validate everything. Nothing on the host changes before
	// the config is known to be valid.
	cfg, err := config.LoadWith(args.StdinData, args.Args, p.Options)
	if err != nil {
		return err
	}
	r.useConfig(cfg, p.NodeErr)
	if e := config.CheckIfName(args.IfName); e != nil {
		return e
	}
	// In a chain, what the plugins before this one made is passed on.
	prev, err := chainPrev(cfg)
	if err != nil {
		return err
	}
	r.mark("parse")

	// 2. Resolve the VF from sysfs: PF, VF index, netdev, RDMA devices.
	dev, err := p.resolve(cfg.DeviceID)
	if err != nil {
		return err
	}
	r.mark("resolve")

	a, err := p.open(r, cfg, args, dev)
	if err != nil {
		return err
	}
	defer a.close()

	// 3. Lock the VF and claim it: a VF held by a live attachment is never
	// taken; one left behind by a vanished pod is restored first.
	err = a.lockAndClaim()
	if a.lock != nil {
		defer a.unlock()
	}
	if err != nil {
		return err
	}
	r.mark("lock")

	// Read every original attribute ADD is about to change, and refuse what
	// cannot work (a setting the PF cannot take, RDMA the node cannot give)
	// while nothing has changed yet.
	if err = a.survey(); err != nil {
		return err
	}
	r.mark("survey")

	// 4. The journal goes to disk before the first change.
	if err = a.writeJournal(); err != nil {
		return err
	}
	p.fault("add:after-journal")
	r.mark("journal")

	// 5. The changes, each pushing its undo. On any error the stack runs in
	// reverse, the address is released and the journal dropped.
	defer func() {
		if err != nil {
			err = a.abort(err)
		}
	}()
	ipamDone := a.startIPAM() // the IPAM exec overlaps the kernel's moves
	if err = a.undo.step("vf-mac", a.restoreVFMAC, a.setVFMAC); err != nil {
		return err
	}
	if err = a.undo.step("pf-settings", a.restoreMACAndPF, a.applyPF); err != nil {
		return err
	}
	if err = a.undo.step("ib-guid", a.restoreGUID, a.applyGUID); err != nil {
		return err
	}
	if err = a.undo.step("rdma-to-pod", a.hardRDMAHome, a.rdmaToPod); err != nil {
		return err
	}
	if err = a.undo.step("netdev-to-pod", a.netdevHome, a.netdevToPod); err != nil {
		return err
	}
	if err = a.undo.step("soft-rdma-in-pod", a.softRDMAOut, a.softRDMAInPod); err != nil {
		return err
	}
	if err = a.undo.step("mac-mtu", nil, a.setLinkAttrs); err != nil {
		return err
	}
	ipamRes, err := ipamDone()
	if err != nil {
		return err
	}
	result, err := a.podResult(ipamRes)
	if err != nil {
		return err
	}
	if err = a.undo.step("addresses", nil, func() error { return a.configureAddresses(result) }); err != nil {
		return err
	}
	if err = a.undo.step("roce-gid", nil, func() error { return a.findRoCEv2GID(result) }); err != nil {
		return err
	}
	if err = a.undo.step("device-info", a.removeDeviceInfo, a.writeDeviceInfo); err != nil {
		return err
	}

	// 6. Commit: the journal records this attachment's part of the result;
	// then print it after whatever the plugins before it made.
	if err = a.undo.step("commit", nil, func() error { return a.commit(result) }); err != nil {
		return err
	}
	a.reclaimVanished()
	return p.printResult(chainResult(prev, result), cfg.Net.CNIVersion)
}

// abort rolls ADD back. When every undo succeeded the VF is free again and
// its journal is dropped; when one failed the journal and the ownership stay
// so that DEL (which the runtime sends after a failed ADD) finishes the job.
func (a *attachment) abort(cause error) error {
	a.p.fault("add:before-rollback")
	rbErr := a.undo.rollback()
	a.r.mark("rollback")
	code := types.ErrInternal
	var inner *types.Error
	if errors.As(cause, &inner) && inner.Code != types.ErrUnknown {
		code = inner.Code // a delegated plugin's error may carry 0: never pass that on
	}
	// The message names the step (cause carries it) and the device.
	cniErr := cniError(code, "add %s as %s: %v", a.dev.Addr, a.args.IfName, cause)
	if rbErr != nil {
		a.r.log.Error("rollback incomplete; journal kept for DEL", "error", rbErr)
		return cniError(code, "%s; rollback incomplete, DEL will finish it: %v", cniErr.Msg, rbErr)
	}
	if err := a.store.Remove(a.args.ContainerID, a.args.IfName); err != nil {
		a.r.log.Error("drop journal after rollback", "error", err)
	}
	a.free = true
	return cniErr
}

func (a *attachment) commit(result *current.Result) error {
	raw, err := json.Marshal(result)
	if err != nil {
		return fmt.Errorf("encode result: %w", err)
	}
	a.rec.Phase = state.PhaseCommitted
	a.rec.Result = raw
	if err = a.store.Update(a.rec); err != nil {
		return fmt.Errorf("commit journal: %w", err)
	}
	return nil
}
