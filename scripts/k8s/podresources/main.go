// Command sriov-rdma-podresources is the k8s lane's stand-in for the
// kubelet's PodResources API (k8s.io/kubelet/pkg/apis/podresources/v1), the
// lane's only test double: no kubelet can run on the lane's machine, and
// Multus asks this API which devices a pod was given.
//
// It serves List, Get and GetAllocatableResources on a unix socket, as the
// kubelet does at /var/lib/kubelet/pod-resources/kubelet.sock, answering
// from a JSON file the lane rewrites whenever it admits or removes a pod (the
// lane plays the kubelet's device manager). The file is read on every call,
// so an answer is never older than the lane's last write.
//
//	sriov-rdma-podresources -socket PATH -state FILE
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"net"
	"os"
	"os/signal"
	"syscall"

	"google.golang.org/grpc"
	podresourcesapi "k8s.io/kubelet/pkg/apis/podresources/v1"
)

func main() {
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "sriov-rdma-podresources:", err)
		os.Exit(1)
	}
}

func run() error {
	socket := flag.String("socket", "/var/lib/kubelet/pod-resources/kubelet.sock", "unix socket to serve on")
	statePath := flag.String("state", "", "JSON file with the pods' device assignments and the allocatable devices")
	flag.Parse()
	if *statePath == "" {
		return errors.New("-state is required")
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	return serve(ctx, *socket, *statePath)
}

// serve answers on socket until ctx ends. A stale socket file from an
// earlier run is replaced, as the kubelet does at start.
func serve(ctx context.Context, socket, statePath string) error {
	if err := os.Remove(socket); err != nil && !errors.Is(err, os.ErrNotExist) {
		return fmt.Errorf("remove stale socket: %w", err)
	}
	lis, err := net.Listen("unix", socket)
	if err != nil {
		return fmt.Errorf("listen: %w", err)
	}
	srv := grpc.NewServer()
	podresourcesapi.RegisterPodResourcesListerServer(srv, &server{statePath: statePath})
	go func() {
		<-ctx.Done()
		srv.GracefulStop()
	}()
	if err := srv.Serve(lis); err != nil {
		return fmt.Errorf("serve: %w", err)
	}
	return nil
}
