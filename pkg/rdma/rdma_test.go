package rdma_test

import (
	"errors"
	"testing"

	"github.com/sriov-rdma/sriov-rdma/pkg/netnstest"
	"github.com/sriov-rdma/sriov-rdma/pkg/rdma"
)

// needNoRDMA skips when the kernel has RDMA netlink: these tests pin down
// what the plugin sees on nodes without it (no ib_core), which is what
// STATUS and netdev-only attachments depend on.
func needNoRDMA(t *testing.T) {
	t.Helper()
	if mode, err := (rdma.Kernel{}).NetnsMode(); err == nil {
		t.Skipf("kernel has RDMA netlink (netns mode %q); these tests cover kernels without it", mode)
	}
}

func TestNetnsModeWithoutRDMA(t *testing.T) {
	needNoRDMA(t)
	mode, err := rdma.Kernel{}.NetnsMode()
	if !errors.Is(err, rdma.ErrNoRDMA) {
		t.Fatalf("NetnsMode err = %v, want ErrNoRDMA", err)
	}
	if mode != "" {
		t.Errorf("NetnsMode mode = %q with an error, want empty", mode)
	}
}

func TestWithoutRDMA(t *testing.T) {
	needNoRDMA(t)
	n := netnstest.New(t)
	k := rdma.Kernel{}

	found, err := k.Exists(n, "mlx5_0")
	if err != nil || found {
		t.Errorf("Exists = %v, %v; want false, nil (no RDMA: nothing exists)", found, err)
	}
	if err := k.DelSoft(n, "rxe0"); err != nil {
		t.Errorf("DelSoft = %v; want nil (nothing to delete)", err)
	}
	// Creating or moving needs the subsystem: those must fail, not
	// pretend to succeed.
	if err := k.AddSoft(n, "rxe0", "rxe", "lo"); err == nil {
		t.Error("AddSoft succeeded on a kernel without RDMA")
	}
	if err := k.Move("mlx5_0", n, n); err == nil {
		t.Error("Move succeeded on a kernel without RDMA")
	}
}
