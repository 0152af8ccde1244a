package main

import (
	"bufio"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"strconv"
	"strings"
	"time"
)

// Placeholders node-cache fills in at start-up; the other __PILLAR__ values
// of the addon manifest are filled in when it is deployed.
const (
	clusterDNSPlaceholder = "__PILLAR__CLUSTER__DNS__"
	upstreamPlaceholder   = "__PILLAR__UPSTREAM__SERVERS__"
)

// config is what the stand-in takes from node-cache's command line.
type config struct {
	localIPs       []string
	conf           string
	baseCorefile   string
	upstreamSvc    string
	healthPort     int
	dnsPort        int
	dnsPortSet     bool
	setupInterface bool
	setupIPTables  bool
	skipTeardown   bool
	interfaceName  string
	pidFile        string
	kubeDNSConfig  string
	syncInterval   time.Duration
	// flags of node-cache (or of the CoreDNS and klog flags it carries) the stand-in does not act on
	ignored []string
}

// Flags of node-cache, CoreDNS or klog the stand-in ignores that take no value.
var ignoredBoolFlags = map[string]bool{
	"quiet": true, "version": true, "plugins": true, "logtostderr": true, "alsologtostderr": true,
	"skip_headers": true, "skip_log_headers": true, "add_dir_header": true, "one_output": true,
}

// seconds is node-cache's -syncinterval: a bare number is seconds, otherwise a Go duration ("1m").
type seconds struct{ d *time.Duration }

func (s seconds) String() string {
	if s.d == nil {
		return ""
	}
	return s.d.String()
}

func (s seconds) Set(v string) error {
	if n, err := strconv.Atoi(v); err == nil {
		*s.d = time.Duration(n) * time.Second
	} else if d, err := time.ParseDuration(v); err == nil {
		*s.d = d
	} else {
		return fmt.Errorf("not a number of seconds or a duration: %q", v)
	}
	if *s.d <= 0 {
		return fmt.Errorf("must be positive: %q", v)
	}
	return nil
}

func newFlagSet(c *config, localIP *string) *flag.FlagSet {
	fs := flag.NewFlagSet("node-cache", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	fs.StringVar(localIP, "localip", "", "comma-separated IPv4 addresses node-cache listens on")
	fs.StringVar(&c.conf, "conf", "/etc/Corefile", "Corefile written from -basecorefile and run by CoreDNS")
	fs.StringVar(&c.baseCorefile, "basecorefile", "/etc/coredns/Corefile.base", "Corefile with the __PILLAR__ placeholders")
	fs.StringVar(&c.upstreamSvc, "upstreamsvc", "kube-dns-upstream", "Service whose ClusterIP replaces "+clusterDNSPlaceholder)
	fs.IntVar(&c.healthPort, "health-port", 8080, "port of CoreDNS's health plugin (iptables rules only)")
	fs.IntVar(&c.dnsPort, "dns.port", 53, "DNS port (iptables rules; passed on to CoreDNS when set)")
	fs.BoolVar(&c.setupInterface, "setupinterface", true, "create the interface holding the local IPs")
	fs.BoolVar(&c.setupIPTables, "setupiptables", true, "add the NOTRACK and ACCEPT rules of the local IPs")
	fs.BoolVar(&c.skipTeardown, "skipteardown", false, "leave the interface and the rules on exit")
	fs.StringVar(&c.interfaceName, "interfacename", "nodelocaldns", "name of the interface holding the local IPs")
	fs.StringVar(&c.pidFile, "pidfile", "", "file to write the process ID to")
	fs.StringVar(&c.kubeDNSConfig, "kubednscm", "/etc/kube-dns", "kube-dns ConfigMap directory (not read by the stand-in)")
	c.syncInterval = 60 * time.Second
	fs.Var(seconds{&c.syncInterval}, "syncinterval", "how often the interface and the rules are checked")
	return fs
}

func flagName(arg string) (name string, hasValue bool) {
	name = strings.TrimLeft(arg, "-")
	if i := strings.Index(name, "="); i >= 0 {
		return name[:i], true
	}
	return name, false
}

// parseArgs reads node-cache's command line.  Flags the stand-in does not know
// are dropped (with the value that follows them unless they are known to take none)
// and listed in config.ignored, so a DaemonSet written for the real node-cache
// starts it unchanged.
func parseArgs(args []string) (*config, error) {
	c := &config{}
	var localIP string
	fs := newFlagSet(c, &localIP)
	var kept []string
	for i := 0; i < len(args); i++ {
		arg := args[i]
		if arg == "--" || !strings.HasPrefix(arg, "-") || arg == "-" {
			kept = append(kept, args[i:]...)
			break
		}
		name, hasValue := flagName(arg)
		if fs.Lookup(name) != nil {
			kept = append(kept, arg)
			if !hasValue && !isBoolFlag(fs, name) && i+1 < len(args) {
				i++
				kept = append(kept, args[i])
			}
			continue
		}
		ignored := arg
		if !hasValue && !ignoredBoolFlags[name] && i+1 < len(args) && !strings.HasPrefix(args[i+1], "-") {
			i++
			ignored += " " + args[i]
		}
		c.ignored = append(c.ignored, ignored)
	}
	if err := fs.Parse(kept); err != nil {
		return nil, err
	}
	if fs.NArg() > 0 {
		return nil, fmt.Errorf("unexpected arguments: %s", strings.Join(fs.Args(), " "))
	}
	fs.Visit(func(f *flag.Flag) {
		if f.Name == "dns.port" {
			c.dnsPortSet = true
		}
	})
	ips, err := parseLocalIPs(localIP)
	if err != nil {
		return nil, err
	}
	c.localIPs = ips
	for _, p := range []struct {
		name  string
		value int
	}{{"health-port", c.healthPort}, {"dns.port", c.dnsPort}} {
		if p.value < 1 || p.value > 65535 {
			return nil, fmt.Errorf("-%s %d is not a port", p.name, p.value)
		}
	}
	if c.setupInterface && c.interfaceName == "" {
		return nil, errors.New("-interfacename is empty")
	}
	return c, nil
}

func isBoolFlag(fs *flag.FlagSet, name string) bool {
	b, ok := fs.Lookup(name).Value.(interface{ IsBoolFlag() bool })
	return ok && b.IsBoolFlag()
}

// parseLocalIPs splits -localip.  Every element must be an IPv4 address: an
// empty one ("169.254.20.10," or "a,,b") is refused, as node-cache refuses it.
func parseLocalIPs(value string) ([]string, error) {
	if value == "" {
		return nil, errors.New("-localip is required (comma-separated IPv4 addresses)")
	}
	var ips []string
	for i, part := range strings.Split(value, ",") {
		if part == "" {
			return nil, fmt.Errorf("-localip %q: element %d is empty (a trailing or doubled comma?)", value, i+1)
		}
		ip := net.ParseIP(part)
		if ip == nil || ip.To4() == nil {
			return nil, fmt.Errorf("-localip %q: %q is not an IPv4 address", value, part)
		}
		ips = append(ips, ip.To4().String())
	}
	return ips, nil
}

// serviceHostEnv is the variable the kubelet sets in every pod for a Service
// of the pod's namespace: kube-dns-upstream -> KUBE_DNS_UPSTREAM_SERVICE_HOST.
func serviceHostEnv(service string) string {
	return strings.ToUpper(strings.ReplaceAll(service, "-", "_")) + "_SERVICE_HOST"
}

// nameservers are the nameserver lines of a resolv.conf.
func nameservers(resolvConf string) []string {
	var out []string
	scanner := bufio.NewScanner(strings.NewReader(resolvConf))
	for scanner.Scan() {
		fields := strings.Fields(scanner.Text())
		if len(fields) >= 2 && fields[0] == "nameserver" {
			out = append(out, fields[1])
		}
	}
	return out
}

// renderCorefile fills in the placeholders node-cache fills in: the upstream
// Service's ClusterIP (from the environment) and the resolv.conf nameservers.
// A Corefile without them comes back unchanged.
func renderCorefile(base, upstreamSvc string, getenv func(string) string, resolvConf string) (string, error) {
	out := base
	if strings.Contains(out, clusterDNSPlaceholder) {
		env := serviceHostEnv(upstreamSvc)
		ip := getenv(env)
		if ip == "" {
			return "", fmt.Errorf("%s is not set: no Service %q in the pod's namespace (-upstreamsvc)", env, upstreamSvc)
		}
		if net.ParseIP(ip) == nil {
			return "", fmt.Errorf("%s=%q is not an IP address", env, ip)
		}
		out = strings.ReplaceAll(out, clusterDNSPlaceholder, ip)
	}
	if strings.Contains(out, upstreamPlaceholder) {
		servers := nameservers(resolvConf)
		if len(servers) == 0 {
			return "", errors.New("no nameserver in /etc/resolv.conf for " + upstreamPlaceholder)
		}
		out = strings.ReplaceAll(out, upstreamPlaceholder, strings.Join(servers, " "))
	}
	return out, nil
}
