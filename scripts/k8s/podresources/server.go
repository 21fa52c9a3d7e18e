package main

import (
	"context"
	"encoding/json"
	"fmt"
	"os"

	podresourcesapi "k8s.io/kubelet/pkg/apis/podresources/v1"
)

// State is the file the lane writes: what the kubelet's device manager
// would know. The lane's driver writes the same shape.
type State struct {
	Pods        []Pod    `json:"pods"`
	Allocatable []Device `json:"allocatable"`
}

// Pod is an admitted pod and the devices its containers hold.
type Pod struct {
	Namespace  string      `json:"namespace"`
	Name       string      `json:"name"`
	Containers []Container `json:"containers"`
}

// Container holds devices of one or more resources.
type Container struct {
	Name    string   `json:"name"`
	Devices []Device `json:"devices"`
}

// Device is one resource's device IDs (for the SR-IOV device plugin: VF
// PCI addresses).
type Device struct {
	ResourceName string   `json:"resourceName"`
	DeviceIDs    []string `json:"deviceIds"`
}

// server implements PodResourcesListerServer from the state file.
type server struct {
	podresourcesapi.UnimplementedPodResourcesListerServer
	statePath string
}

func (s *server) load() (*State, error) {
	b, err := os.ReadFile(s.statePath)
	if err != nil {
		return nil, fmt.Errorf("read state: %w", err)
	}
	var st State
	if err := json.Unmarshal(b, &st); err != nil {
		return nil, fmt.Errorf("parse state %s: %w", s.statePath, err)
	}
	return &st, nil
}

// List returns every admitted pod's resources, as the kubelet's v1 List.
func (s *server) List(_ context.Context, _ *podresourcesapi.ListPodResourcesRequest) (*podresourcesapi.ListPodResourcesResponse, error) {
	st, err := s.load()
	if err != nil {
		return nil, err
	}
	resp := &podresourcesapi.ListPodResourcesResponse{PodResources: []*podresourcesapi.PodResources{}}
	for _, p := range st.Pods {
		resp.PodResources = append(resp.PodResources, p.api())
	}
	return resp, nil
}

// Get returns one pod's resources. The kubelet answers an unknown pod with
// an error naming it, in these words.
func (s *server) Get(_ context.Context, req *podresourcesapi.GetPodResourcesRequest) (*podresourcesapi.GetPodResourcesResponse, error) {
	st, err := s.load()
	if err != nil {
		return nil, err
	}
	for _, p := range st.Pods {
		if p.Namespace == req.PodNamespace && p.Name == req.PodName {
			return &podresourcesapi.GetPodResourcesResponse{PodResources: p.api()}, nil
		}
	}
	return nil, fmt.Errorf("pod %s not found in %s", req.PodName, req.PodNamespace)
}

// GetAllocatableResources returns every device the node's device plugins
// offer, whether allocated or not.
func (s *server) GetAllocatableResources(_ context.Context, _ *podresourcesapi.AllocatableResourcesRequest) (*podresourcesapi.AllocatableResourcesResponse, error) {
	st, err := s.load()
	if err != nil {
		return nil, err
	}
	resp := &podresourcesapi.AllocatableResourcesResponse{}
	for _, d := range st.Allocatable {
		resp.Devices = append(resp.Devices, d.api())
	}
	return resp, nil
}

func (p Pod) api() *podresourcesapi.PodResources {
	out := &podresourcesapi.PodResources{Name: p.Name, Namespace: p.Namespace}
	for _, c := range p.Containers {
		ac := &podresourcesapi.ContainerResources{Name: c.Name}
		for _, d := range c.Devices {
			ac.Devices = append(ac.Devices, d.api())
		}
		out.Containers = append(out.Containers, ac)
	}
	return out
}

func (d Device) api() *podresourcesapi.ContainerDevices {
	return &podresourcesapi.ContainerDevices{ResourceName: d.ResourceName, DeviceIds: append([]string(nil), d.DeviceIDs...)}
}
