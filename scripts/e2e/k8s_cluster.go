package main

// The k8s lane's control plane: etcd and kube-apiserver, started inside the
// lane's private network namespace (loopback only, gone with the lane),
// then the objects a cluster with Multus and whereabouts has: their CRDs
// and RBAC from the upstream manifests, their service accounts and tokens.

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/base64"
	"encoding/pem"
	"errors"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"time"
)

const (
	etcdURL       = "http://127.0.0.1:2379"
	apiserverPort = "6443"
	apiserverURL  = "https://127.0.0.1:" + apiserverPort
	adminToken    = "sriov-rdma-k8s-lane-admin"
	k8sNamespace  = "e2e" // pods and NADs
	k8sNodeName   = "e2e-node"
)

// k8sPaths is what scripts/k8s/lane.sh prepared: third-party binaries and
// manifests, all built or fetched outside the repository.
type k8sPaths struct {
	dir  string // bin/ and manifests/ below it
	logs string // where the components' logs go (kept after the lane)
}

func (p k8sPaths) bin(name string) string { return filepath.Join(p.dir, "bin", name) }

func (p k8sPaths) manifest(name string) string { return filepath.Join(p.dir, "manifests", name) }

// cluster is the running control plane and the node-side files that point
// at it.
type cluster struct {
	l     *Lane
	paths k8sPaths
	dir   string // scratch: etcd data, certificates, keys
	ca    string // the apiserver's self-signed certificate bundle
	admin *apiClient
	procs []*process
	// tokens of the service accounts the node's CNI programs run as.
	multusToken, whereaboutsToken string
}

type process struct {
	name string
	cmd  *exec.Cmd
	done chan struct{} // closed when the process has exited; then err is set
	err  error
}

// startProcess runs a long-lived component with its output in logs/NAME.log;
// the lane's teardown stops it.
func (c *cluster) startProcess(name string, args ...string) (*process, error) {
	return c.startProcessEnv(name, nil, args...)
}

// startProcessEnv is startProcess with variables added to the environment.
func (c *cluster) startProcessEnv(name string, env []string, args ...string) (*process, error) {
	logf, err := os.Create(filepath.Join(c.paths.logs, name+".log"))
	if err != nil {
		return nil, err
	}
	cmd := exec.Command(args[0], args[1:]...)
	cmd.Stdout, cmd.Stderr = logf, logf
	cmd.Env = append(cleanEnv(), env...)
	if err := cmd.Start(); err != nil {
		_ = logf.Close()
		return nil, fmt.Errorf("start %s: %w", name, err)
	}
	p := &process{name: name, cmd: cmd, done: make(chan struct{})}
	go func() {
		p.err = cmd.Wait()
		_ = logf.Close()
		close(p.done)
	}()
	c.procs = append(c.procs, p)
	c.l.onTearDown("stop "+name, p.stop)
	return p, nil
}

// stop sends SIGTERM, then SIGKILL after 5 s: the lane's control plane is
// thrown away, and kube-apiserver's graceful shutdown waits for watchers
// (the Multus daemon's informers) longer than the lane should.
func (p *process) stop() error {
	_ = p.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-p.done:
	case <-time.After(5 * time.Second):
		_ = p.cmd.Process.Kill()
		<-p.done
	}
	return nil
}

// exited reports a component that died, with the tail of its log.
func (c *cluster) exited() error {
	for _, p := range c.procs {
		select {
		case <-p.done:
			tail, _ := os.ReadFile(filepath.Join(c.paths.logs, p.name+".log"))
			return fmt.Errorf("%s exited (%w): %s", p.name, p.err, lastLines(string(tail), 5))
		default:
		}
	}
	return nil
}

func lastLines(s string, n int) string {
	lines := strings.Split(strings.TrimSpace(s), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, " | ")
}

// startControlPlane starts etcd and kube-apiserver and waits until the
// apiserver is ready, its system namespaces included.
func startControlPlane(l *Lane, paths k8sPaths) (*cluster, error) {
	c := &cluster{l: l, paths: paths, dir: filepath.Join(l.work, "k8s")}
	for _, d := range []string{c.dir, paths.logs, filepath.Join(c.dir, "pki")} {
		if err := os.MkdirAll(d, 0o700); err != nil {
			return nil, err
		}
	}
	if _, err := c.startProcess("etcd", paths.bin("etcd"),
		"--data-dir", filepath.Join(c.dir, "etcd"),
		"--listen-client-urls", etcdURL, "--advertise-client-urls", etcdURL,
		"--listen-peer-urls", "http://127.0.0.1:2380",
		"--initial-advertise-peer-urls", "http://127.0.0.1:2380",
		"--initial-cluster", "default=http://127.0.0.1:2380"); err != nil {
		return c, err
	}
	saKey := filepath.Join(c.dir, "pki", "sa.key")
	if err := writeRSAKey(saKey); err != nil {
		return c, err
	}
	tokens := filepath.Join(c.dir, "pki", "tokens.csv")
	if err := os.WriteFile(tokens, []byte(adminToken+`,lane-admin,lane-admin,"system:masters"`+"\n"), 0o600); err != nil {
		return c, err
	}
	certDir := filepath.Join(c.dir, "pki", "serving")
	if _, err := c.startProcess("kube-apiserver", paths.bin("kube-apiserver"),
		"--etcd-servers", etcdURL,
		"--bind-address", "127.0.0.1", "--advertise-address", "127.0.0.1", "--secure-port", apiserverPort,
		"--cert-dir", certDir,
		"--token-auth-file", tokens,
		"--authorization-mode", "RBAC",
		"--service-account-issuer", "https://kubernetes.default.svc",
		"--service-account-key-file", saKey, "--service-account-signing-key-file", saKey,
		"--service-cluster-ip-range", "10.96.0.0/24",
		"--endpoint-reconciler-type", "none",
		"--enable-priority-and-fairness=false",
		"--profiling=false"); err != nil {
		return c, err
	}
	// The apiserver writes its self-signed pair before it listens.
	c.ca = filepath.Join(certDir, "apiserver.crt")
	if err := poll(90*time.Second, func() error {
		if err := c.exited(); err != nil {
			return stopPolling{err}
		}
		_, err := os.Stat(c.ca)
		return err
	}); err != nil {
		return c, unwrapStop(err)
	}
	admin, err := newAPIClient(apiserverURL, adminToken, c.ca)
	if err != nil {
		return c, err
	}
	c.admin = admin
	err = poll(120*time.Second, func() error {
		if err := c.exited(); err != nil {
			return stopPolling{err}
		}
		ctx, cancel := context.WithTimeout(l.ctx, 5*time.Second)
		defer cancel()
		if err := c.admin.do(ctx, http.MethodGet, "/readyz", "", nil, nil); err != nil {
			return fmt.Errorf("readyz: %w", err)
		}
		var ns struct{}
		return c.admin.get(ctx, "v1", "Namespace", "", "kube-system", &ns)
	})
	if err != nil {
		return c, fmt.Errorf("kube-apiserver not ready: %w", unwrapStop(err))
	}
	return c, nil
}

// stopPolling ends a poll at once: waiting longer cannot help.
type stopPolling struct{ err error }

func (s stopPolling) Error() string { return s.err.Error() }

func unwrapStop(err error) error {
	var s stopPolling
	if errors.As(err, &s) {
		return s.err
	}
	return err
}

func writeRSAKey(path string) error {
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		return err
	}
	b := pem.EncodeToMemory(&pem.Block{Type: "RSA PRIVATE KEY", Bytes: x509.MarshalPKCS1PrivateKey(key)})
	return os.WriteFile(path, b, 0o600)
}

// bootstrap installs what the node's CNI programs need in the cluster:
// Multus's NAD CRD and RBAC and whereabouts' CRDs and RBAC, each from the
// upstream manifest (only those kinds: their DaemonSets and ConfigMaps
// would install what the lane runs as host processes), the lane's
// namespace with its default service account, and tokens for Multus and
// whereabouts bound to their service accounts.
// multusManifest is the upstream DaemonSet manifest of the Multus flavour
// the lane runs (thin and thick grant different RBAC: the daemon's pod
// informer lists and watches pods).
func (c *cluster) bootstrap(ctx context.Context, multusManifest string) error {
	keep := map[string]bool{"CustomResourceDefinition": true, "ClusterRole": true, "ClusterRoleBinding": true, "ServiceAccount": true}
	for _, f := range []string{multusManifest, "whereabouts-install.yaml",
		"whereabouts.cni.cncf.io_ippools.yaml", "whereabouts.cni.cncf.io_overlappingrangeipreservations.yaml",
		"whereabouts.cni.cncf.io_nodeslicepools.yaml"} {
		b, err := os.ReadFile(c.paths.manifest(f))
		if err != nil {
			return err
		}
		docs, err := manifests(string(b))
		if err != nil {
			return fmt.Errorf("%s: %w", f, err)
		}
		for _, d := range docs {
			if !keep[d.id.Kind] {
				continue
			}
			if err := c.admin.create(ctx, d.id, "application/yaml", d.body, false, nil); err != nil {
				return fmt.Errorf("%s: create %s %s: %w", f, d.id.Kind, d.id.Metadata.Name, err)
			}
		}
	}
	if err := c.admin.createJSON(ctx, map[string]any{
		"apiVersion": "v1", "kind": "Namespace", "metadata": map[string]any{"name": k8sNamespace},
	}, nil); err != nil {
		return err
	}
	// Without a controller manager nobody creates a namespace's default
	// service account, and pod admission needs it.
	if err := c.admin.createJSON(ctx, map[string]any{
		"apiVersion": "v1", "kind": "ServiceAccount", "metadata": map[string]any{"name": "default", "namespace": k8sNamespace},
	}, nil); err != nil {
		return err
	}
	// The CRDs serve once established: wait for discovery to list them.
	for _, k := range [][2]string{{"k8s.cni.cncf.io/v1", "NetworkAttachmentDefinition"}, {"whereabouts.cni.cncf.io/v1alpha1", "IPPool"}} {
		if err := poll(30*time.Second, func() error { _, err := c.admin.resource(ctx, k[0], k[1]); return err }); err != nil {
			return err
		}
	}
	var err error
	if c.multusToken, err = c.token(ctx, "kube-system", "multus"); err != nil {
		return err
	}
	c.whereaboutsToken, err = c.token(ctx, "kube-system", "whereabouts")
	return err
}

// token asks the TokenRequest API for a service account's token, as the
// Multus and whereabouts DaemonSets get theirs projected.
func (c *cluster) token(ctx context.Context, ns, sa string) (string, error) {
	body := `{"apiVersion":"authentication.k8s.io/v1","kind":"TokenRequest","spec":{"expirationSeconds":7200}}`
	var out struct {
		Status struct {
			Token string `json:"token"`
		} `json:"status"`
	}
	path := "/api/v1/namespaces/" + ns + "/serviceaccounts/" + sa + "/token"
	if err := c.admin.do(ctx, http.MethodPost, path, "", []byte(body), &out); err != nil {
		return "", fmt.Errorf("token for %s/%s: %w", ns, sa, err)
	}
	return out.Status.Token, nil
}

// kubeconfig is a client config for the apiserver with a bearer token; the
// namespace is whereabouts' home for its IPPools.
func (c *cluster) kubeconfig(user, token, namespace string) ([]byte, error) {
	ca, err := os.ReadFile(c.ca)
	if err != nil {
		return nil, err
	}
	// JSON is YAML: client-go reads either.
	return []byte(fmt.Sprintf(`{
  "apiVersion": "v1", "kind": "Config",
  "clusters": [{"name": "lane", "cluster": {"server": %q, "certificate-authority-data": %q}}],
  "users": [{"name": %q, "user": {"token": %q}}],
  "contexts": [{"name": "lane", "context": {"cluster": "lane", "user": %q, "namespace": %q}}],
  "current-context": "lane"
}
`, apiserverURL, base64.StdEncoding.EncodeToString(ca), user, token, user, namespace)), nil
}
