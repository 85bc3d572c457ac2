package deploy

import (
	"bytes"
	"fmt"
	"net"
	"net/http"
	"os"
	"path"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
	"sigs.k8s.io/yaml"

	"github.com/streamtoken/streamtoken/server"
	"github.com/streamtoken/streamtoken/store/postgres"
	"github.com/streamtoken/streamtoken/streamtokentest"
)

// manifests are the example's objects, by kind and name.
type manifests struct {
	deployments map[string]*appsv1.Deployment
	services    map[string]*corev1.Service
	secrets     map[string]*corev1.Secret
}

// decodeManifests reads every YAML file of dir, each document decoded in
// strict mode by the Kubernetes API type its apiVersion and kind name: an
// unknown field, a duplicate one, a wrong type or a kind not known here
// fails.
func decodeManifests(dir string) (*manifests, error) {
	files, err := filepath.Glob(filepath.Join(dir, "*.yaml"))
	if err != nil || len(files) == 0 {
		return nil, fmt.Errorf("no manifests in %s (%v)", dir, err)
	}
	m := &manifests{deployments: map[string]*appsv1.Deployment{}, services: map[string]*corev1.Service{}, secrets: map[string]*corev1.Secret{}}
	for _, file := range files {
		data, err := os.ReadFile(file)
		if err != nil {
			return nil, err
		}
		for i, doc := range splitDocuments(data) {
			where := fmt.Sprintf("%s, document %d", filepath.Base(file), i+1)
			var tm metav1.TypeMeta
			if err := yaml.Unmarshal(doc, &tm); err != nil {
				return nil, fmt.Errorf("%s: %v", where, err)
			}
			var obj interface{ GetName() string }
			switch tm.APIVersion + " " + tm.Kind {
			case "apps/v1 Deployment":
				obj = &appsv1.Deployment{}
			case "v1 Service":
				obj = &corev1.Service{}
			case "v1 Secret":
				obj = &corev1.Secret{}
			default:
				return nil, fmt.Errorf("%s: %s %s is not a kind this test knows: teach it (and check what it must hold)", where, tm.APIVersion, tm.Kind)
			}
			if err := yaml.UnmarshalStrict(doc, obj); err != nil {
				return nil, fmt.Errorf("%s: %v", where, err)
			}
			name := obj.GetName()
			switch o := obj.(type) {
			case *appsv1.Deployment:
				m.deployments[name] = o
			case *corev1.Service:
				m.services[name] = o
			case *corev1.Secret:
				m.secrets[name] = o
			}
		}
	}
	return m, nil
}

// splitDocuments cuts a YAML stream at its "---" lines, empty documents
// (comments alone) dropped.
func splitDocuments(data []byte) [][]byte {
	var docs [][]byte
	for _, doc := range regexp.MustCompile(`(?m)^---[ \t]*$`).Split(string(data), -1) {
		meaningful := false
		for _, line := range strings.Split(doc, "\n") {
			if t := strings.TrimSpace(line); t != "" && !strings.HasPrefix(t, "#") {
				meaningful = true
				break
			}
		}
		if meaningful {
			docs = append(docs, []byte(doc))
		}
	}
	return docs
}

// Strict decoding refuses what a typo makes: the test of the manifests is
// only as good as this.
func TestDecodeManifestsIsStrict(t *testing.T) {
	for name, doc := range map[string]string{
		"unknown field":  "apiVersion: v1\nkind: Service\nmetadata:\n  name: s\nspec:\n  selektor: {}\n",
		"wrong type":     "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: d\nspec:\n  replicas: two\n",
		"duplicate":      "apiVersion: v1\nkind: Secret\nmetadata:\n  name: a\n  name: b\n",
		"unknown kind":   "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: c\n",
		"probe misspelt": "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: d\nspec:\n  template:\n    spec:\n      containers:\n        - name: c\n          readinessProbe:\n            httpGett: {path: /healthz, port: 8787}\n",
	} {
		dir := t.TempDir()
		if err := os.WriteFile(filepath.Join(dir, "m.yaml"), []byte(doc), 0o600); err != nil {
			t.Fatal(err)
		}
		if _, err := decodeManifests(dir); err == nil {
			t.Errorf("%s: decoded without an error", name)
		}
	}
}

func TestKubernetesManifests(t *testing.T) {
	m, err := decodeManifests("kubernetes")
	if err != nil {
		t.Fatal(err)
	}
	d := m.deployments["streamtoken"]
	if d == nil || len(m.deployments) != 1 {
		t.Fatalf("want one Deployment, streamtoken; have %d", len(m.deployments))
	}
	if d.Spec.Replicas == nil || *d.Spec.Replicas != 2 {
		t.Errorf("replicas = %v, want 2", d.Spec.Replicas)
	}
	pod := d.Spec.Template.Spec
	if len(pod.Containers) != 1 {
		t.Fatalf("want one container, have %d", len(pod.Containers))
	}
	c := pod.Containers[0]
	env := map[string]corev1.EnvVar{}
	for _, v := range c.Env {
		if _, dup := env[v.Name]; dup {
			t.Errorf("env %s is set twice", v.Name)
		}
		env[v.Name] = v
	}

	// The port serve listens on is the container's, and the probes' and
	// the scrape's.
	port := addrPort(t, env["STREAMTOKEN_ADDR"].Value)
	if len(c.Ports) != 1 || c.Ports[0].ContainerPort != int32(port) {
		t.Errorf("container ports %+v; want one, %d, the port of STREAMTOKEN_ADDR", c.Ports, port)
	}
	health := startServer(t)
	for name, p := range map[string]*corev1.Probe{"readinessProbe": c.ReadinessProbe, "livenessProbe": c.LivenessProbe} {
		if p == nil || p.HTTPGet == nil {
			t.Errorf("%s: want an httpGet probe", name)
			continue
		}
		if got := resolvePort(t, c, p.HTTPGet.Port); got != port {
			t.Errorf("%s: port %v is %d, want %d (STREAMTOKEN_ADDR's)", name, p.HTTPGet.Port.String(), got, port)
		}
		if p.HTTPGet.Path != server.HealthPath {
			t.Errorf("%s: path %q, want the server's %q", name, p.HTTPGet.Path, server.HealthPath)
		}
		// The path answers 200 on a server, as the kubelet needs.
		if code := get(t, health+p.HTTPGet.Path); code != http.StatusOK {
			t.Errorf("%s: %s answers %d on a server", name, p.HTTPGet.Path, code)
		}
		if p.TimeoutSeconds < 1 || p.PeriodSeconds < 1 {
			t.Errorf("%s: set its timeout and period (%d, %d)", name, p.TimeoutSeconds, p.PeriodSeconds)
		}
	}
	ann := d.Spec.Template.Annotations
	if ann["prometheus.io/scrape"] != "true" || ann["prometheus.io/port"] != strconv.Itoa(port) || ann["prometheus.io/path"] != server.MetricsPath {
		t.Errorf("pod annotations %v; want Prometheus's scrape, port %d and path %s", ann, port, server.MetricsPath)
	}
	if code := get(t, health+ann["prometheus.io/path"]); code != http.StatusOK {
		t.Errorf("the scrape path %s answers %d on a server", ann["prometheus.io/path"], code)
	}

	// Stopping: the kubelet waits longer than serve drains.
	if g := pod.TerminationGracePeriodSeconds; g == nil || time.Duration(*g)*time.Second <= server.DefaultShutdownTimeout {
		t.Errorf("terminationGracePeriodSeconds %v; want more than serve's shutdown bound, %v", g, server.DefaultShutdownTimeout)
	}
	if c.Resources.Requests.Cpu().IsZero() || c.Resources.Requests.Memory().IsZero() {
		t.Errorf("resources.requests %v: want cpu and memory", c.Resources.Requests)
	}
	sc := c.SecurityContext
	if sc == nil || sc.ReadOnlyRootFilesystem == nil || !*sc.ReadOnlyRootFilesystem {
		t.Error("want readOnlyRootFilesystem: true")
	}
	nonRoot := (sc != nil && sc.RunAsNonRoot != nil && *sc.RunAsNonRoot) || (pod.SecurityContext != nil && pod.SecurityContext.RunAsNonRoot != nil && *pod.SecurityContext.RunAsNonRoot)
	if !nonRoot {
		t.Error("want runAsNonRoot: true")
	}
	if psc := pod.SecurityContext; psc == nil || psc.RunAsUser == nil || *psc.RunAsUser != 65532 || psc.FSGroup == nil || *psc.FSGroup != 65532 {
		t.Error("want the pod's runAsUser and fsGroup 65532, the image's user, which reads the Secrets' files")
	}

	// Every variable is one serve reads, and the gateway's form sets what
	// it needs.
	readme, err := os.ReadFile("../README.md")
	if err != nil {
		t.Fatal(err)
	}
	for name := range env {
		if !strings.HasPrefix(name, "STREAMTOKEN_") || !bytes.Contains(readme, []byte("`"+name+"`")) {
			t.Errorf("env %s is not a variable the README lists for serve", name)
		}
	}
	for _, name := range []string{"STREAMTOKEN_UPSTREAM", "STREAMTOKEN_PUBLIC_URL", "STREAMTOKEN_CREDENTIALS", "STREAMTOKEN_KEY_ENCRYPTION_KEY_FILE", "STREAMTOKEN_STORE"} {
		if _, ok := env[name]; !ok {
			t.Errorf("env %s is not set", name)
		}
	}

	// Secrets: in files or from Secrets, never literal, never on the
	// command line.
	for _, arg := range append(append([]string{}, c.Command...), c.Args...) {
		if strings.HasPrefix(arg, "-") || strings.Contains(arg, "postgres") {
			t.Errorf("the command line has %q: settings go in the environment, secrets in Secrets", arg)
		}
	}
	for _, name := range []string{"STREAMTOKEN_STORE", "STREAMTOKEN_API_TOKENS", "STREAMTOKEN_KEY_ENCRYPTION_KEY"} {
		if v, ok := env[name]; ok && v.ValueFrom == nil {
			t.Errorf("env %s is a literal: take it from a Secret", name)
		}
	}
	for name, v := range env {
		if v.ValueFrom == nil {
			continue
		}
		ref := v.ValueFrom.SecretKeyRef
		if ref == nil || secretData(m.secrets[ref.Name], ref.Key) == nil {
			t.Errorf("env %s: want a key of a Secret in the example, have %+v", name, v.ValueFrom)
		}
	}
	mounted := map[string]string{} // file -> its Secret's data
	for _, vm := range c.VolumeMounts {
		var vol *corev1.Volume
		for i := range pod.Volumes {
			if pod.Volumes[i].Name == vm.Name {
				vol = &pod.Volumes[i]
			}
		}
		if vol == nil || vol.Secret == nil || m.secrets[vol.Secret.SecretName] == nil {
			t.Errorf("volume %s: want a Secret of the example", vm.Name)
			continue
		}
		if !vm.ReadOnly {
			t.Errorf("volume %s: mount it readOnly", vm.Name)
		}
		if vol.Secret.DefaultMode == nil || *vol.Secret.DefaultMode&0o007 != 0 {
			t.Errorf("volume %s: want a defaultMode others cannot read", vm.Name)
		}
		s := m.secrets[vol.Secret.SecretName]
		for key := range s.StringData {
			mounted[path.Join(vm.MountPath, key)] = string(secretData(s, key))
		}
	}
	creds, ok := mounted[env["STREAMTOKEN_CREDENTIALS"].Value]
	if !ok {
		t.Fatalf("STREAMTOKEN_CREDENTIALS %q is not a file of a mounted Secret", env["STREAMTOKEN_CREDENTIALS"].Value)
	}
	file, err := server.ParseCredentialsFile([]byte(creds))
	if err != nil {
		t.Errorf("the credentials Secret: %v", err)
	} else if len(file.Upstream) == 0 {
		t.Error("the credentials Secret has no upstream: section: the gateway's own credential at Cloudflare")
	}
	kek, ok := mounted[env["STREAMTOKEN_KEY_ENCRYPTION_KEY_FILE"].Value]
	if !ok {
		t.Fatalf("STREAMTOKEN_KEY_ENCRYPTION_KEY_FILE %q is not a file of a mounted Secret", env["STREAMTOKEN_KEY_ENCRYPTION_KEY_FILE"].Value)
	}
	// The placeholder is no key: a copy applied unchanged fails to start
	// rather than seal every key with one the world knows.
	if _, err := postgres.ParseKeyEncryptionKey([]byte(kek)); err == nil {
		t.Error("the key-encryption key Secret holds a usable key: keep a placeholder that is not one")
	}
	for name, s := range m.secrets {
		if len(s.Data) > 0 {
			t.Errorf("Secret %s: use stringData, which a reader can replace, not base64 data", name)
		}
		for key, v := range s.StringData {
			if !strings.Contains(v, "REPLACE-ME") {
				t.Errorf("Secret %s, %s: want a REPLACE-ME placeholder in an example's secret", name, key)
			}
		}
	}

	// The Service selects the pods and reaches the port they serve on.
	svc := m.services["streamtoken"]
	if svc == nil {
		t.Fatal("want the Service streamtoken")
	}
	for k, v := range svc.Spec.Selector {
		if d.Spec.Template.Labels[k] != v {
			t.Errorf("the Service selects %s=%s, which the pods do not carry", k, v)
		}
	}
	if len(svc.Spec.Ports) != 1 || resolvePort(t, c, svc.Spec.Ports[0].TargetPort) != port {
		t.Errorf("the Service's ports %+v do not reach %d", svc.Spec.Ports, port)
	}
}

func secretData(s *corev1.Secret, key string) []byte {
	if s == nil {
		return nil
	}
	if v, ok := s.StringData[key]; ok {
		return []byte(v)
	}
	return s.Data[key]
}

// addrPort is the port of serve's address as STREAMTOKEN_ADDR gives it
// (the image's :8787 when unset).
func addrPort(t *testing.T, addr string) int {
	t.Helper()
	if addr == "" {
		addr = ":8787"
	}
	_, p, err := net.SplitHostPort(addr)
	n, perr := strconv.Atoi(p)
	if err != nil || perr != nil {
		t.Fatalf("STREAMTOKEN_ADDR %q: want HOST:PORT", addr)
	}
	return n
}

// resolvePort is the container's port p names, by number or by name.
func resolvePort(t *testing.T, c corev1.Container, p intstr.IntOrString) int {
	t.Helper()
	if p.Type == intstr.Int {
		return p.IntValue()
	}
	for _, cp := range c.Ports {
		if cp.Name == p.StrVal {
			return int(cp.ContainerPort)
		}
	}
	t.Errorf("port %q names no port of the container", p.StrVal)
	return 0
}

// startServer starts a token server and returns its root URL.
func startServer(t *testing.T) string {
	srv := streamtokentest.NewServer()
	t.Cleanup(srv.Close)
	return strings.TrimSuffix(srv.URL, server.BasePath)
}

func get(t *testing.T, url string) int {
	t.Helper()
	res, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	return res.StatusCode
}
