package main

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	podresourcesapi "k8s.io/kubelet/pkg/apis/podresources/v1"
)

// dial starts the stand-in on a socket in a temporary directory and returns
// a client that talks to it the way Multus's kubeletclient does.
func dial(t *testing.T, st State) (podresourcesapi.PodResourcesListerClient, string) {
	t.Helper()
	dir := t.TempDir()
	statePath := filepath.Join(dir, "state.json")
	writeState(t, statePath, st)
	socket := filepath.Join(dir, "kubelet.sock")
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- serve(ctx, socket, statePath) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("serve: %v", err)
		}
	})
	deadline := time.Now().Add(5 * time.Second)
	for {
		if _, err := os.Stat(socket); err == nil {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("socket never appeared")
		}
		time.Sleep(10 * time.Millisecond)
	}
	conn, err := grpc.NewClient("unix://"+socket, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = conn.Close() })
	return podresourcesapi.NewPodResourcesListerClient(conn), statePath
}

func writeState(t *testing.T, path string, st State) {
	t.Helper()
	b, err := json.Marshal(st)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, b, 0o644); err != nil {
		t.Fatal(err)
	}
}

const res = "nvidia.com/rdma_vf"

func TestListGetAllocatable(t *testing.T) {
	st := State{
		Pods:        []Pod{{Namespace: "ns", Name: "a", Containers: []Container{{Name: "app", Devices: []Device{{ResourceName: res, DeviceIDs: []string{"0000:01:00.1", "0000:01:00.2"}}}}}}},
		Allocatable: []Device{{ResourceName: res, DeviceIDs: []string{"0000:01:00.1", "0000:01:00.2", "0000:01:00.3"}}},
	}
	c, statePath := dial(t, st)
	ctx := context.Background()

	list, err := c.List(ctx, &podresourcesapi.ListPodResourcesRequest{})
	if err != nil {
		t.Fatal(err)
	}
	if len(list.PodResources) != 1 || list.PodResources[0].Name != "a" || list.PodResources[0].Namespace != "ns" {
		t.Fatalf("List = %v", list.PodResources)
	}
	devs := list.PodResources[0].Containers[0].Devices
	if len(devs) != 1 || devs[0].ResourceName != res || !slices.Equal(devs[0].DeviceIds, []string{"0000:01:00.1", "0000:01:00.2"}) {
		t.Errorf("List devices = %v", devs)
	}

	got, err := c.Get(ctx, &podresourcesapi.GetPodResourcesRequest{PodNamespace: "ns", PodName: "a"})
	if err != nil {
		t.Fatal(err)
	}
	if got.PodResources.Name != "a" || len(got.PodResources.Containers) != 1 {
		t.Errorf("Get = %v", got.PodResources)
	}
	if _, err := c.Get(ctx, &podresourcesapi.GetPodResourcesRequest{PodNamespace: "ns", PodName: "b"}); err == nil || !strings.Contains(err.Error(), "pod b not found in ns") {
		t.Errorf("Get of an unknown pod: %v, want the kubelet's not-found error", err)
	}

	alloc, err := c.GetAllocatableResources(ctx, &podresourcesapi.AllocatableResourcesRequest{})
	if err != nil {
		t.Fatal(err)
	}
	if len(alloc.Devices) != 1 || len(alloc.Devices[0].DeviceIds) != 3 {
		t.Errorf("GetAllocatableResources = %v", alloc.Devices)
	}

	// The file is read per call: a pod the lane removes is gone at once.
	writeState(t, statePath, State{Allocatable: st.Allocatable})
	list, err = c.List(ctx, &podresourcesapi.ListPodResourcesRequest{})
	if err != nil {
		t.Fatal(err)
	}
	if len(list.PodResources) != 0 {
		t.Errorf("List after the pod left = %v", list.PodResources)
	}
}

func TestBadStateIsAnError(t *testing.T) {
	c, statePath := dial(t, State{})
	if err := os.WriteFile(statePath, []byte("{"), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := c.List(context.Background(), &podresourcesapi.ListPodResourcesRequest{}); err == nil {
		t.Error("List answered from a corrupt state file")
	}
}
