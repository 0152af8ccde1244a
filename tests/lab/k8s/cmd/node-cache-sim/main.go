// Command node-cache-sim stands in for node-cache, the program of the
// NodeLocal DNSCache image (registry.k8s.io/dns/k8s-dns-node-cache), in the
// nodeops lab, where the module it is built from (k8s.io/dns) cannot be had.
// It is the entrypoint (/node-cache) of the lab image
// localhost/nodeops-lab/k8s-dns-node-cache:<version>-sim and does, around the
// real CoreDNS binary, what node-cache does for the addon's DaemonSet:
//
//   - reads node-cache's flags (-localip, -conf, -basecorefile, -upstreamsvc,
//     -health-port, -setupinterface, -setupiptables, -skipteardown,
//     -interfacename, -pidfile, -kubednscm, -syncinterval, -dns.port) and
//     ignores the others; an empty element of -localip is an error;
//   - writes -conf from -basecorefile with __PILLAR__CLUSTER__DNS__ (the
//     ClusterIP of -upstreamsvc, from the pod's environment) and
//     __PILLAR__UPSTREAM__SERVERS__ (the nameservers of /etc/resolv.conf)
//     filled in;
//   - puts the local IPs on an interface of their own and adds the NOTRACK
//     and ACCEPT rules for them, checking them again every -syncinterval;
//   - runs `coredns -conf <conf>`, passes SIGTERM and SIGINT on to it, and
//     removes the rules and the interface when it ends (unless -skipteardown);
//   - writes -conf again when -basecorefile (a ConfigMap volume) changes, for
//     CoreDNS's reload plugin to pick up.
//
// It does not read the kube-dns ConfigMap (stub domains, upstream
// nameservers) or serve node-cache's own metrics.
package main

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"os/signal"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// resolvConfPath is where __PILLAR__UPSTREAM__SERVERS__ comes from (a variable for the tests).
var resolvConfPath = "/etc/resolv.conf"

func logf(format string, args ...interface{}) {
	fmt.Fprintf(os.Stderr, "node-cache-sim: "+format+"\n", args...)
}

func execIPTables(args ...string) (int, string, error) {
	out, err := exec.Command("iptables", args...).CombinedOutput()
	var exit *exec.ExitError
	if errors.As(err, &exit) {
		return exit.ExitCode(), string(out), nil
	}
	if err != nil {
		return -1, string(out), err
	}
	return 0, string(out), nil
}

type cache struct {
	cfg   *config
	rules []rule
	run   iptablesRunner
}

// setup brings the interface and the rules to what they should be; it logs what it changed.
func (c *cache) setup() error {
	if c.cfg.setupInterface {
		did, err := ensureInterface(c.cfg.interfaceName, c.cfg.localIPs)
		for _, line := range did {
			logf("%s", line)
		}
		if err != nil {
			return err
		}
	}
	if c.cfg.setupIPTables {
		added, err := ensureRules(c.run, c.rules)
		for _, r := range added {
			logf("added iptables rule %s", r)
		}
		if err != nil {
			return err
		}
	}
	return nil
}

func (c *cache) teardown() {
	if c.cfg.skipTeardown {
		logf("-skipteardown: leaving the interface and the iptables rules")
		return
	}
	if c.cfg.setupIPTables {
		if err := removeRules(c.run, c.rules); err != nil {
			logf("removing the iptables rules: %v", err)
		} else {
			logf("removed the iptables rules")
		}
	}
	if c.cfg.setupInterface {
		if err := removeInterface(c.cfg.interfaceName); err != nil {
			logf("removing interface %s: %v", c.cfg.interfaceName, err)
		} else {
			logf("removed interface %s", c.cfg.interfaceName)
		}
	}
}

// writeCorefile writes -conf from -basecorefile unless it already holds that text; it says whether it wrote.
func writeCorefile(cfg *config) (bool, error) {
	base, err := os.ReadFile(cfg.baseCorefile)
	if err != nil {
		return false, fmt.Errorf("reading -basecorefile: %w", err)
	}
	resolv, err := os.ReadFile(resolvConfPath)
	if err != nil && strings.Contains(string(base), upstreamPlaceholder) {
		return false, fmt.Errorf("reading %s: %w", resolvConfPath, err)
	}
	text, err := renderCorefile(string(base), cfg.upstreamSvc, os.Getenv, string(resolv))
	if err != nil {
		return false, err
	}
	if old, err := os.ReadFile(cfg.conf); err == nil && string(old) == text {
		return false, nil
	}
	tmp := cfg.conf + ".tmp"
	if err := os.WriteFile(tmp, []byte(text), 0o644); err != nil {
		return false, err
	}
	return true, os.Rename(tmp, cfg.conf)
}

// hasFiles is whether a ConfigMap volume holds any key (the kubelet's ..data links do not count).
func hasFiles(dir string) bool {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return false
	}
	for _, e := range entries {
		if !strings.HasPrefix(e.Name(), "..") {
			return true
		}
	}
	return false
}

func main() {
	os.Exit(run(os.Args[1:]))
}

func run(args []string) int {
	cfg, err := parseArgs(args)
	if err != nil {
		logf("error: %v", err)
		return 2
	}
	logf("the nodeops lab's stand-in for node-cache (CoreDNS is the real binary); local IPs %s",
		strings.Join(cfg.localIPs, ","))
	for _, f := range cfg.ignored {
		logf("ignoring flag %s", f)
	}
	if hasFiles(cfg.kubeDNSConfig) {
		logf("not reading the kube-dns ConfigMap in %s (the stand-in does not)", cfg.kubeDNSConfig)
	}
	if _, err := writeCorefile(cfg); err != nil {
		logf("error: %v", err)
		return 1
	}
	logf("wrote %s from %s", cfg.conf, cfg.baseCorefile)
	if cfg.pidFile != "" {
		if err := os.WriteFile(cfg.pidFile, []byte(strconv.Itoa(os.Getpid())+"\n"), 0o644); err != nil {
			logf("error: writing -pidfile: %v", err)
			return 1
		}
		defer os.Remove(cfg.pidFile)
	}

	c := &cache{cfg: cfg, rules: rules(cfg.localIPs, cfg.dnsPort, cfg.healthPort), run: execIPTables}
	signals := make(chan os.Signal, 4)
	signal.Notify(signals, syscall.SIGTERM, syscall.SIGINT)
	if err := c.setup(); err != nil {
		logf("error: setting up: %v", err)
		c.teardown()
		return 1
	}

	coreArgs := []string{"-conf", cfg.conf}
	if cfg.dnsPortSet {
		coreArgs = append(coreArgs, "-dns.port", strconv.Itoa(cfg.dnsPort))
	}
	child := exec.Command("coredns", coreArgs...)
	child.Stdout, child.Stderr = os.Stdout, os.Stderr
	if err := child.Start(); err != nil {
		logf("error: starting coredns: %v", err)
		c.teardown()
		return 1
	}
	logf("started coredns %s (pid %d)", strings.Join(coreArgs, " "), child.Process.Pid)
	done := make(chan error, 1)
	go func() { done <- child.Wait() }()

	ticker := time.NewTicker(cfg.syncInterval)
	defer ticker.Stop()
	stopping := false
	for {
		select {
		case sig := <-signals:
			logf("got %v, stopping coredns", sig)
			stopping = true
			_ = child.Process.Signal(sig)
		case <-ticker.C:
			if err := c.setup(); err != nil {
				logf("periodic check: %v", err)
			}
			if wrote, err := writeCorefile(cfg); err != nil {
				logf("periodic check: keeping %s: %v", cfg.conf, err)
			} else if wrote {
				logf("%s changed: wrote %s again", cfg.baseCorefile, cfg.conf)
			}
		case err := <-done:
			code := 0
			if err != nil {
				logf("coredns ended: %v", err)
				code = 1
				var exit *exec.ExitError
				if errors.As(err, &exit) && exit.ExitCode() > 0 {
					code = exit.ExitCode()
				}
			}
			c.teardown()
			if stopping {
				return 0
			}
			if code == 0 {
				code = 1 // coredns is not meant to end on its own
			}
			return code
		}
	}
}
