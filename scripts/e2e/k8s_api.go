package main

// The k8s lane's client of kube-apiserver: plain HTTPS and JSON, so the
// driver needs no Kubernetes client library (the plugin's go.mod stays as
// it is). Resources are found by API discovery, as kubectl finds them, so a
// manifest of any kind the server serves can be created or dry-run.

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"strings"
	"sync"
	"time"
)

// apiClient talks to one apiserver as one user (a bearer token).
type apiClient struct {
	server string // https://127.0.0.1:PORT
	token  string
	http   *http.Client

	mu        sync.Mutex
	resources map[string]apiResource // by "group/version kind"
}

// apiResource is a kind's REST path as discovery names it.
type apiResource struct {
	path       string // /api/v1 or /apis/GROUP/VERSION
	plural     string
	namespaced bool
}

// apiError is a non-2xx answer: the server's Status message and code.
type apiError struct {
	Code    int
	Reason  string
	Message string
}

func (e *apiError) Error() string { return fmt.Sprintf("%d %s: %s", e.Code, e.Reason, e.Message) }

func isNotFound(err error) bool {
	var ae *apiError
	return errors.As(err, &ae) && ae.Code == http.StatusNotFound
}

// newAPIClient trusts the certificates in caFile (the apiserver's
// self-signed serving certificate and its CA).
func newAPIClient(server, token, caFile string) (*apiClient, error) {
	pem, err := os.ReadFile(caFile)
	if err != nil {
		return nil, err
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(pem) {
		return nil, fmt.Errorf("no certificate in %s", caFile)
	}
	return &apiClient{
		server: server,
		token:  token,
		http: &http.Client{
			Timeout:   20 * time.Second,
			Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12}},
		},
		resources: map[string]apiResource{},
	}, nil
}

// do sends one request; body is JSON unless contentType says otherwise.
// A non-2xx answer is an *apiError; out (if not nil) gets the JSON answer.
func (c *apiClient) do(ctx context.Context, method, path, contentType string, body []byte, out any) error {
	var rd io.Reader
	if body != nil {
		rd = bytes.NewReader(body)
	}
	req, err := http.NewRequestWithContext(ctx, method, c.server+path, rd)
	if err != nil {
		return err
	}
	req.Header.Set("Authorization", "Bearer "+c.token)
	req.Header.Set("Accept", "application/json")
	if body != nil {
		if contentType == "" {
			contentType = "application/json"
		}
		req.Header.Set("Content-Type", contentType)
	}
	resp, err := c.http.Do(req)
	if err != nil {
		return err
	}
	defer func() { _ = resp.Body.Close() }()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		return err
	}
	if resp.StatusCode/100 != 2 {
		var st struct {
			Reason  string `json:"reason"`
			Message string `json:"message"`
		}
		_ = json.Unmarshal(b, &st)
		if st.Message == "" {
			st.Message = oneLine(string(b))
		}
		return &apiError{Code: resp.StatusCode, Reason: st.Reason, Message: st.Message}
	}
	if out != nil {
		if err := json.Unmarshal(b, out); err != nil {
			return fmt.Errorf("%s %s: decode answer: %w", method, path, err)
		}
	}
	return nil
}

// resource finds where objects of apiVersion/kind live, asking discovery
// once per group version.
func (c *apiClient) resource(ctx context.Context, apiVersion, kind string) (apiResource, error) {
	key := apiVersion + " " + kind
	c.mu.Lock()
	r, ok := c.resources[key]
	c.mu.Unlock()
	if ok {
		return r, nil
	}
	path := "/apis/" + apiVersion
	if !strings.Contains(apiVersion, "/") {
		path = "/api/" + apiVersion
	}
	var list struct {
		Resources []struct {
			Name       string `json:"name"`
			Kind       string `json:"kind"`
			Namespaced bool   `json:"namespaced"`
		} `json:"resources"`
	}
	if err := c.do(ctx, http.MethodGet, path, "", nil, &list); err != nil {
		return apiResource{}, fmt.Errorf("discover %s: %w", apiVersion, err)
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, res := range list.Resources {
		if !strings.Contains(res.Name, "/") {
			c.resources[apiVersion+" "+res.Kind] = apiResource{path: path, plural: res.Name, namespaced: res.Namespaced}
		}
	}
	r, ok = c.resources[key]
	if !ok {
		return apiResource{}, fmt.Errorf("the server has no kind %s in %s", kind, apiVersion)
	}
	return r, nil
}

// collection is the URL path of a kind's objects in namespace ns.
func (r apiResource) collection(ns string) string {
	if r.namespaced {
		if ns == "" {
			ns = "default"
		}
		return r.path + "/namespaces/" + url.PathEscape(ns) + "/" + r.plural
	}
	return r.path + "/" + r.plural
}

// object is the identity of a manifest or an object.
type object struct {
	APIVersion string `json:"apiVersion"`
	Kind       string `json:"kind"`
	Metadata   struct {
		Name      string `json:"name"`
		Namespace string `json:"namespace"`
	} `json:"metadata"`
}

// create posts an object; contentType is application/json or
// application/yaml (the apiserver decodes either). dryRun asks for
// server-side dry run: admission and validation, nothing stored.
func (c *apiClient) create(ctx context.Context, id object, contentType string, body []byte, dryRun bool, out any) error {
	r, err := c.resource(ctx, id.APIVersion, id.Kind)
	if err != nil {
		return err
	}
	path := r.collection(id.Metadata.Namespace)
	if dryRun {
		path += "?dryRun=All&fieldValidation=Strict"
	} else {
		path += "?fieldValidation=Strict"
	}
	return c.do(ctx, http.MethodPost, path, contentType, body, out)
}

// createJSON creates an object given as a Go value.
func (c *apiClient) createJSON(ctx context.Context, obj any, out any) error {
	b, err := json.Marshal(obj)
	if err != nil {
		return err
	}
	var id object
	if err := json.Unmarshal(b, &id); err != nil {
		return err
	}
	if err := c.create(ctx, id, "", b, false, out); err != nil {
		return fmt.Errorf("create %s %s/%s: %w", id.Kind, id.Metadata.Namespace, id.Metadata.Name, err)
	}
	return nil
}

// get reads one object into out.
func (c *apiClient) get(ctx context.Context, apiVersion, kind, ns, name string, out any) error {
	r, err := c.resource(ctx, apiVersion, kind)
	if err != nil {
		return err
	}
	return c.do(ctx, http.MethodGet, r.collection(ns)+"/"+url.PathEscape(name), "", nil, out)
}

// list reads every object of a kind in ns ("" with a namespaced kind: all
// namespaces) into out (a struct with Items).
func (c *apiClient) list(ctx context.Context, apiVersion, kind, ns string, out any) error {
	r, err := c.resource(ctx, apiVersion, kind)
	if err != nil {
		return err
	}
	path := r.path + "/" + r.plural
	if r.namespaced && ns != "" {
		path = r.collection(ns)
	}
	return c.do(ctx, http.MethodGet, path, "", nil, out)
}

// remove deletes an object at once (grace period 0: no kubelet will
// confirm a graceful deletion); a missing object is not an error.
func (c *apiClient) remove(ctx context.Context, apiVersion, kind, ns, name string) error {
	r, err := c.resource(ctx, apiVersion, kind)
	if err != nil {
		return err
	}
	body := []byte(`{"kind":"DeleteOptions","apiVersion":"v1","gracePeriodSeconds":0}`)
	err = c.do(ctx, http.MethodDelete, r.collection(ns)+"/"+url.PathEscape(name), "", body, nil)
	if isNotFound(err) {
		return nil
	}
	return err
}
