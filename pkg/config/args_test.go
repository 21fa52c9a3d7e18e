package config

import "testing"

func TestCNIArgs(t *testing.T) {
	tests := []struct {
		name     string
		args     string
		want     K8sArgs
		code     uint
		contains []string
	}{
		{name: "none", args: ""},
		{name: "Multus", args: typicalArgs, want: K8sArgs{
			PodNamespace: "default", PodName: "rdma-pod-0", PodUID: "6f1e3c2a-0d7b-4a7e-9c55-1f0e2d3c4b5a", InfraContainerID: "4b5c0f"}},
		{name: "unknown keys ignored", args: "FOO=bar;K8S_POD_NAME=p;IgnoreUnknown=true", want: K8sArgs{PodName: "p"}},
		{name: "trailing and doubled separators", args: "K8S_POD_NAME=p;;K8S_POD_NAMESPACE=ns;", want: K8sArgs{PodName: "p", PodNamespace: "ns"}},
		{name: "value holding '='", args: "K8S_POD_NAME=a=b", want: K8sArgs{PodName: "a=b"}},
		{name: "empty value", args: "K8S_POD_NAME=", want: K8sArgs{}},
		{name: "keys are case-sensitive", args: "k8s_pod_name=p", want: K8sArgs{}},
		{name: "pair without '='", args: "K8S_POD_NAME=p;garbage", want: K8sArgs{PodName: "p"},
			code: 4, contains: []string{`CNI_ARGS`, `"garbage"`, `KEY=VALUE`}},
		{name: "empty key", args: "=v", code: 4, contains: []string{`CNI_ARGS`, `"=v"`, `KEY=VALUE`}},
		{name: "only the first bad pair is reported", args: "a;b", code: 4, contains: []string{`"a"`}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg, err := Load(netconf(t, nil), tt.args)
			if tt.code != 0 {
				wantError(t, err, tt.code, tt.contains...)
				// DEL still learns the pod from whatever pairs were well-formed.
				lcfg, _ := LoadLenient(netconf(t, nil), tt.args)
				if lcfg.Args != tt.want {
					t.Errorf("lenient Args = %+v, want %+v", lcfg.Args, tt.want)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if cfg.Args != tt.want {
				t.Errorf("Args = %+v, want %+v", cfg.Args, tt.want)
			}
		})
	}
}

func TestNetconfErrorReportedBeforeCNIArgs(t *testing.T) {
	_, err := Load(netconf(t, map[string]any{"vlan": 5000}), "garbage")
	wantError(t, err, 7, "vlan 5000")
}
