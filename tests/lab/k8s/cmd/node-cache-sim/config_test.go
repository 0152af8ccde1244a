package main

import (
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"
)

// The args of the addon's DaemonSet (cluster/addons/dns/nodelocaldns), placeholders filled in.
var addonArgs = []string{"-localip", "169.254.20.10,10.96.0.10", "-conf", "/etc/Corefile", "-upstreamsvc", "kube-dns-upstream"}

func TestDefaults(t *testing.T) {
	c, err := parseArgs([]string{"-localip", "169.254.20.10"})
	if err != nil {
		t.Fatal(err)
	}
	want := &config{
		localIPs: []string{"169.254.20.10"}, conf: "/etc/Corefile", baseCorefile: "/etc/coredns/Corefile.base",
		upstreamSvc: "kube-dns-upstream", healthPort: 8080, dnsPort: 53, setupInterface: true, setupIPTables: true,
		interfaceName: "nodelocaldns", kubeDNSConfig: "/etc/kube-dns", syncInterval: 60 * time.Second,
	}
	if !reflect.DeepEqual(c, want) {
		t.Fatalf("defaults:\n got %+v\nwant %+v", c, want)
	}
}

func TestAddonArgs(t *testing.T) {
	c, err := parseArgs(addonArgs)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(c.localIPs, []string{"169.254.20.10", "10.96.0.10"}) || c.conf != "/etc/Corefile" ||
		c.upstreamSvc != "kube-dns-upstream" || len(c.ignored) != 0 {
		t.Fatalf("got %+v", c)
	}
}

func TestFlagForms(t *testing.T) {
	c, err := parseArgs([]string{"--localip=169.254.20.10", "-health-port", "9090", "-setupinterface=false",
		"-setupiptables=false", "-skipteardown", "-interfacename", "nlc0", "-pidfile", "/run/nc.pid",
		"-kubednscm=/cm", "-syncinterval", "5", "-basecorefile", "/b", "-dns.port", "5353"})
	if err != nil {
		t.Fatal(err)
	}
	if c.healthPort != 9090 || c.setupInterface || c.setupIPTables || !c.skipTeardown || c.interfaceName != "nlc0" ||
		c.pidFile != "/run/nc.pid" || c.kubeDNSConfig != "/cm" || c.syncInterval != 5*time.Second ||
		c.baseCorefile != "/b" || c.dnsPort != 5353 || !c.dnsPortSet {
		t.Fatalf("got %+v", c)
	}
	c, err = parseArgs([]string{"-localip", "169.254.20.10", "-syncinterval", "1m30s"})
	if err != nil || c.syncInterval != 90*time.Second || c.dnsPortSet {
		t.Fatalf("got %+v, %v", c, err)
	}
}

func TestOtherNodeCacheFlagsAreIgnored(t *testing.T) {
	args := append([]string{"-metrics-listen-address", "0.0.0.0:9353", "-quiet", "-v=2", "-log_dir", "/var/log",
		"-alsologtostderr"}, addonArgs...)
	c, err := parseArgs(args)
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"-metrics-listen-address 0.0.0.0:9353", "-quiet", "-v=2", "-log_dir /var/log", "-alsologtostderr"}
	if !reflect.DeepEqual(c.ignored, want) || len(c.localIPs) != 2 {
		t.Fatalf("ignored %q, local IPs %q", c.ignored, c.localIPs)
	}
}

func TestRefusals(t *testing.T) {
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"-localip", "169.254.20.10,"}, "element 2 is empty"},
		{[]string{"-localip", ",169.254.20.10"}, "element 1 is empty"},
		{[]string{"-localip", "169.254.20.10,,10.96.0.10"}, "element 2 is empty"},
		{[]string{"-localip", "169.254.20.10 "}, "not an IPv4 address"},
		{[]string{"-localip", "fd00::10"}, "not an IPv4 address"},
		{[]string{"-conf", "/etc/Corefile"}, "-localip is required"},
		{[]string{"-localip", "169.254.20.10", "-health-port", "0"}, "not a port"},
		{[]string{"-localip", "169.254.20.10", "-syncinterval", "soon"}, "syncinterval"},
		{[]string{"-localip", "169.254.20.10", "stray"}, "unexpected arguments"},
	} {
		_, err := parseArgs(tc.args)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%q: got error %v, want one with %q", tc.args, err, tc.want)
		}
	}
}

func TestTrailingCommaMakesRunFail(t *testing.T) {
	if code := run([]string{"-localip", "169.254.20.10,", "-conf", "/nonexistent/Corefile"}); code == 0 {
		t.Fatal("run accepted -localip with a trailing comma")
	}
}

const addonCorefile = `cluster.local:53 {
    errors
    bind 169.254.20.10 10.96.0.10
    forward . __PILLAR__CLUSTER__DNS__ {
            force_tcp
    }
    health 169.254.20.10:8080
}
.:53 {
    bind 169.254.20.10 10.96.0.10
    forward . __PILLAR__UPSTREAM__SERVERS__
}
`

func env(vars map[string]string) func(string) string {
	return func(k string) string { return vars[k] }
}

func TestCorefilePlaceholders(t *testing.T) {
	resolv := "# written by the node\nsearch lab\nnameserver 10.0.2.3\nnameserver 10.0.2.4\noptions ndots:1\n"
	out, err := renderCorefile(addonCorefile, "kube-dns-upstream",
		env(map[string]string{"KUBE_DNS_UPSTREAM_SERVICE_HOST": "10.96.12.34"}), resolv)
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(out, "__PILLAR__") {
		t.Fatalf("placeholder left:\n%s", out)
	}
	for _, line := range []string{"forward . 10.96.12.34 {", "forward . 10.0.2.3 10.0.2.4\n", "bind 169.254.20.10 10.96.0.10"} {
		if !strings.Contains(out, line) {
			t.Errorf("%q not in\n%s", line, out)
		}
	}
}

func TestCorefileWithoutPlaceholdersIsCopied(t *testing.T) {
	plain := ".:53 {\n    bind 169.254.20.10\n    forward . 10.96.0.10\n}\n"
	out, err := renderCorefile(plain, "kube-dns-upstream", env(nil), "")
	if err != nil || out != plain {
		t.Fatalf("got %q, %v", out, err)
	}
}

func TestCorefileMissingValues(t *testing.T) {
	if _, err := renderCorefile(addonCorefile, "kube-dns-upstream", env(nil), "nameserver 10.0.2.3\n"); err == nil ||
		!strings.Contains(err.Error(), "KUBE_DNS_UPSTREAM_SERVICE_HOST is not set") {
		t.Errorf("missing Service: %v", err)
	}
	if _, err := renderCorefile("forward . __PILLAR__UPSTREAM__SERVERS__", "x", env(nil), "search lab\n"); err == nil {
		t.Error("a resolv.conf without nameservers was accepted")
	}
	if serviceHostEnv("my-dns-svc") != "MY_DNS_SVC_SERVICE_HOST" {
		t.Error(serviceHostEnv("my-dns-svc"))
	}
}

func TestCorefileWrittenAgainOnlyWhenTheBaseChanges(t *testing.T) {
	dir := t.TempDir()
	resolvConfPath = filepath.Join(dir, "resolv.conf")
	defer func() { resolvConfPath = "/etc/resolv.conf" }()
	if err := os.WriteFile(resolvConfPath, []byte("nameserver 10.0.2.3\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	cfg := &config{baseCorefile: filepath.Join(dir, "Corefile.base"), conf: filepath.Join(dir, "Corefile"),
		upstreamSvc: "kube-dns-upstream"}
	write := func(base string) {
		if err := os.WriteFile(cfg.baseCorefile, []byte(base), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write(".:53 {\n    forward . __PILLAR__UPSTREAM__SERVERS__\n}\n")
	for i, want := range []bool{true, false} {
		if wrote, err := writeCorefile(cfg); err != nil || wrote != want {
			t.Fatalf("write %d: wrote %v, %v", i+1, wrote, err)
		}
	}
	write(".:53 {\n    cache 30\n    forward . __PILLAR__UPSTREAM__SERVERS__\n}\n")
	if wrote, err := writeCorefile(cfg); err != nil || !wrote {
		t.Fatalf("changed base: wrote %v, %v", wrote, err)
	}
	if out, _ := os.ReadFile(cfg.conf); !strings.Contains(string(out), "cache 30\n    forward . 10.0.2.3\n") {
		t.Fatalf("got %s", out)
	}
	if err := os.Mkdir(filepath.Join(dir, "cm"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink("..2024", filepath.Join(dir, "cm", "..data")); err != nil {
		t.Fatal(err)
	}
	if hasFiles(filepath.Join(dir, "cm")) || hasFiles(filepath.Join(dir, "absent")) {
		t.Fatal("an empty ConfigMap volume counted as one with keys")
	}
}
