package cli

import (
	"encoding/json"
	"io"
	"net"
	"net/http"
	"path/filepath"
	"strings"
	"sync"
	"testing"
)

// networkDaemon serves the network endpoints and container create and
// inspect on a unix socket, recording each request with its JSON body,
// so that tests see what goes over the wire.
type networkDaemon struct {
	mu       sync.Mutex
	requests []string
	bodies   map[string]map[string]any // by "METHOD path"
}

func startNetworkDaemon(t *testing.T) (string, *networkDaemon) {
	t.Helper()
	sock := filepath.Join(t.TempDir(), "d.sock")
	l, err := net.Listen("unix", sock)
	if err != nil {
		t.Fatal(err)
	}
	d := &networkDaemon{bodies: map[string]map[string]any{}}
	srv := &http.Server{Handler: d}
	go func() { _ = srv.Serve(l) }()
	t.Cleanup(func() { srv.Close() })
	return "unix://" + sock, d
}

func (d *networkDaemon) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	path := r.URL.Path
	if i := strings.Index(path[1:], "/"); strings.HasPrefix(path, "/v1.") && i > 0 {
		path = path[i+1:]
	}
	key := r.Method + " " + path
	body, _ := io.ReadAll(r.Body)
	d.mu.Lock()
	d.requests = append(d.requests, key+"?"+r.URL.RawQuery)
	if len(body) > 0 {
		var doc map[string]any
		_ = json.Unmarshal(body, &doc)
		d.bodies[key] = doc
	}
	d.mu.Unlock()

	w.Header().Set("Api-Version", "1.51")
	reply := func(code int, doc string) {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(code)
		_, _ = io.WriteString(w, doc)
	}
	switch key {
	case "HEAD /_ping", "GET /_ping":
		_, _ = io.WriteString(w, "OK")
	case "POST /networks/create":
		reply(http.StatusCreated, `{"Id":"0123456789abcdef0123456789abcdef","Warning":""}`)
	case "GET /networks":
		reply(http.StatusOK, `[{"Name":"bridge","Id":"aaaabbbbccccdddd","Driver":"bridge","Scope":"local"},{"Name":"appnet","Id":"0123456789abcdef","Driver":"bridge","Scope":"local"}]`)
	case "DELETE /networks/appnet":
		w.WriteHeader(http.StatusNoContent)
	case "DELETE /networks/ghost":
		reply(http.StatusNotFound, `{"message":"network ghost not found"}`)
	case "POST /networks/appnet/connect", "POST /networks/appnet/disconnect":
		w.WriteHeader(http.StatusOK)
	case "POST /containers/create":
		reply(http.StatusCreated, `{"Id":"feedface","Warnings":[]}`)
	case "POST /containers/feedface/start":
		w.WriteHeader(http.StatusNoContent)
	case "GET /containers/web/json":
		reply(http.StatusOK, `{"Id":"feedface","Name":"/web","NetworkSettings":{"Ports":{"80/tcp":[{"HostIp":"0.0.0.0","HostPort":"8080"},{"HostIp":"::","HostPort":"8080"}],"443/tcp":null}}}`)
	default:
		reply(http.StatusNotFound, `{"message":"page not found"}`)
	}
}

func (d *networkDaemon) body(t *testing.T, key string) string {
	t.Helper()
	d.mu.Lock()
	defer d.mu.Unlock()
	b, err := json.Marshal(d.bodies[key])
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func TestNetworkCommandsOverTheWire(t *testing.T) {
	host, d := startNetworkDaemon(t)

	code, stdout, stderr := run(t, "", "-H", host, "network", "create", "--subnet", "10.5.0.0/16", "--gateway", "10.5.0.1", "--label", "env=ci", "appnet")
	if code != 0 || stdout != "0123456789abcdef0123456789abcdef\n" {
		t.Fatalf("create: code %d, stdout %q, stderr %q", code, stdout, stderr)
	}
	assertJSON(t, "create body", d.body(t, "POST /networks/create"),
		`{"Attachable":false,"ConfigFrom":null,"ConfigOnly":false,"Driver":"bridge","IPAM":{"Config":[{"Gateway":"10.5.0.1","Subnet":"10.5.0.0/16"}],"Driver":"default","Options":{}},"Ingress":false,"Internal":false,"Labels":{"env":"ci"},"Name":"appnet","Options":{},"Scope":""}`)

	code, stdout, _ = run(t, "", "-H", host, "network", "ls")
	if code != 0 || stdout != "NETWORK ID     NAME      DRIVER    SCOPE\n0123456789ab   appnet    bridge    local\naaaabbbbcccc   bridge    bridge    local\n" {
		t.Errorf("ls: code %d, stdout %q", code, stdout)
	}

	code, stdout, stderr = run(t, "", "-H", host, "network", "rm", "appnet", "ghost")
	if code != 1 || stdout != "appnet\n" || stderr != "Error response from daemon: network ghost not found\n" {
		t.Errorf("rm: code %d, stdout %q, stderr %q", code, stdout, stderr)
	}
	code, stdout, stderr = run(t, "", "-H", host, "network", "remove", "-f", "ghost")
	if code != 0 || stdout != "" || stderr != "" {
		t.Errorf("rm -f: code %d, stdout %q, stderr %q", code, stdout, stderr)
	}

	code, _, stderr = run(t, "", "-H", host, "network", "connect", "--ip", "10.5.0.9", "--alias", "db", "appnet", "web")
	if code != 0 {
		t.Fatalf("connect: code %d, stderr %q", code, stderr)
	}
	assertJSON(t, "connect body", d.body(t, "POST /networks/appnet/connect"),
		`{"Container":"web","EndpointConfig":{"Aliases":["db"],"DNSNames":null,"DriverOpts":{},"EndpointID":"","Gateway":"","GlobalIPv6Address":"","GlobalIPv6PrefixLen":0,"GwPriority":0,"IPAMConfig":{"IPv4Address":"10.5.0.9"},"IPAddress":"","IPPrefixLen":0,"IPv6Gateway":"","Links":null,"MacAddress":"","NetworkID":""}}`)

	code, _, stderr = run(t, "", "-H", host, "network", "disconnect", "-f", "appnet", "web")
	if code != 0 {
		t.Fatalf("disconnect: code %d, stderr %q", code, stderr)
	}
	assertJSON(t, "disconnect body", d.body(t, "POST /networks/appnet/disconnect"), `{"Container":"web","Force":true}`)
}

func TestRunPublishOverTheWire(t *testing.T) {
	host, d := startNetworkDaemon(t)
	code, stdout, stderr := run(t, "", "-H", host, "run", "-d", "-p", "127.0.0.1:8080:80", "-p", "[::1]::53/udp",
		"--expose", "7000-7001", "--dns", "9.9.9.9", "--add-host", "db=10.0.0.2", "busybox")
	if code != 0 || stdout != "feedface\n" {
		t.Fatalf("run: code %d, stdout %q, stderr %q", code, stdout, stderr)
	}
	var req map[string]any
	_ = json.Unmarshal([]byte(d.body(t, "POST /containers/create")), &req)
	cfg, _ := json.Marshal(req["ExposedPorts"])
	assertJSON(t, "ExposedPorts", string(cfg), `{"53/udp":{},"7000/tcp":{},"7001/tcp":{},"80/tcp":{}}`)
	hc := req["HostConfig"].(map[string]any)
	for field, want := range map[string]string{
		"PortBindings": `{"53/udp":[{"HostIp":"::1","HostPort":""}],"80/tcp":[{"HostIp":"127.0.0.1","HostPort":"8080"}]}`,
		"NetworkMode":  `"default"`,
		"Dns":          `["9.9.9.9"]`,
		"DnsSearch":    `[]`,
		"DnsOptions":   `[]`,
		"ExtraHosts":   `["db:10.0.0.2"]`,
	} {
		got, _ := json.Marshal(hc[field])
		assertJSON(t, field, string(got), want)
	}
	eps, _ := json.Marshal(req["NetworkingConfig"].(map[string]any)["EndpointsConfig"].(map[string]any)["default"])
	if !strings.HasPrefix(string(eps), "{") {
		t.Errorf("the endpoint config must be keyed \"default\": %s", eps)
	}

	// A malformed -p fails before any request.
	d.mu.Lock()
	d.requests = nil
	d.mu.Unlock()
	code, _, stderr = run(t, "", "-H", host, "run", "-p", "8080:80/icmp", "busybox")
	if code != 125 || stderr != "pouch: invalid proto: icmp.\nSee 'pouch run --help'.\n" {
		t.Errorf("bad -p: code %d, stderr %q", code, stderr)
	}
	d.mu.Lock()
	if len(d.requests) != 0 {
		t.Errorf("requests sent: %q", d.requests)
	}
	d.mu.Unlock()
}

func TestPortOverTheWire(t *testing.T) {
	host, _ := startNetworkDaemon(t)
	code, stdout, _ := run(t, "", "-H", host, "port", "web")
	if code != 0 || stdout != "80/tcp -> 0.0.0.0:8080\n80/tcp -> [::]:8080\n" {
		t.Errorf("port: code %d, stdout %q", code, stdout)
	}
	code, stdout, _ = run(t, "", "-H", host, "container", "port", "web", "80/tcp")
	if code != 0 || stdout != "0.0.0.0:8080\n[::]:8080\n" {
		t.Errorf("port 80/tcp: code %d, stdout %q", code, stdout)
	}
	code, _, stderr := run(t, "", "-H", host, "port", "web", "443")
	if code != 1 || stderr != "Error: No public port '443/tcp' published for web\n" {
		t.Errorf("unpublished: code %d, stderr %q", code, stderr)
	}
}

// assertJSON compares two JSON documents, ignoring key order.
func assertJSON(t *testing.T, what, got, want string) {
	t.Helper()
	var g, w any
	if err := json.Unmarshal([]byte(got), &g); err != nil {
		t.Fatalf("%s: %v in %s", what, err, got)
	}
	if err := json.Unmarshal([]byte(want), &w); err != nil {
		t.Fatalf("%s: bad expectation: %v", what, err)
	}
	gb, _ := json.Marshal(g)
	wb, _ := json.Marshal(w)
	if string(gb) != string(wb) {
		t.Errorf("%s:\n got: %s\nwant: %s", what, gb, wb)
	}
}
