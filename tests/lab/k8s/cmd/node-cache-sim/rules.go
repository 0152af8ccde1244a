package main

import (
	"fmt"
	"strconv"
	"strings"
)

const ruleComment = "NodeLocal DNS Cache (nodeops lab stand-in)"

// rule is one iptables rule: table, chain and the match and target arguments.
type rule struct {
	table, chain string
	args         []string
}

func (r rule) String() string {
	words := make([]string, len(r.args))
	for i, a := range r.args {
		words[i] = a
		if strings.ContainsAny(a, " \"") {
			words[i] = strconv.Quote(a)
		}
	}
	return fmt.Sprintf("-t %s %s %s", r.table, r.chain, strings.Join(words, " "))
}

// rules are what node-cache keeps for each local IP: DNS traffic to and from
// the IP skips connection tracking (raw NOTRACK) and is accepted by the filter
// table, and so is the health port's.
func rules(localIPs []string, dnsPort, healthPort int) []rule {
	dns, health := strconv.Itoa(dnsPort), strconv.Itoa(healthPort)
	var out []rule
	add := func(table, chain, proto, dir, ip, portDir, port, target string) {
		out = append(out, rule{table, chain, []string{"-p", proto, dir, ip, portDir, port,
			"-m", "comment", "--comment", ruleComment, "-j", target}})
	}
	for _, ip := range localIPs {
		for _, proto := range []string{"tcp", "udp"} {
			add("raw", "PREROUTING", proto, "-d", ip, "--dport", dns, "NOTRACK")
		}
		for _, proto := range []string{"tcp", "udp"} {
			add("raw", "OUTPUT", proto, "-s", ip, "--sport", dns, "NOTRACK")
			add("raw", "OUTPUT", proto, "-d", ip, "--dport", dns, "NOTRACK")
		}
		for _, proto := range []string{"tcp", "udp"} {
			add("filter", "INPUT", proto, "-d", ip, "--dport", dns, "ACCEPT")
			add("filter", "OUTPUT", proto, "-s", ip, "--sport", dns, "ACCEPT")
		}
		add("raw", "OUTPUT", "tcp", "-d", ip, "--dport", health, "NOTRACK")
		add("raw", "OUTPUT", "tcp", "-s", ip, "--sport", health, "NOTRACK")
		add("filter", "INPUT", "tcp", "-d", ip, "--dport", health, "ACCEPT")
		add("filter", "OUTPUT", "tcp", "-s", ip, "--sport", health, "ACCEPT")
	}
	return out
}

// iptablesRunner runs iptables with the given arguments and returns its exit
// code; err is for a command that could not run at all.
type iptablesRunner func(args ...string) (code int, output string, err error)

func (r rule) command(op string) []string {
	return append([]string{"-w", "-t", r.table, op, r.chain}, r.args...)
}

// exists is `iptables -C`: exit 0 the rule is there, 1 it is not, anything else an error.
func (r rule) exists(run iptablesRunner) (bool, error) {
	code, out, err := run(r.command("-C")...)
	switch {
	case err != nil:
		return false, err
	case code == 0:
		return true, nil
	case code == 1:
		return false, nil
	}
	return false, fmt.Errorf("iptables -C %s: exit %d: %s", r, code, strings.TrimSpace(out))
}

// ensureRules inserts (-I, at the head of the chain) every rule that -C does
// not find, so a restart or a periodic check never adds a rule twice.  It
// returns the rules it added.
func ensureRules(run iptablesRunner, want []rule) ([]rule, error) {
	var added []rule
	for _, r := range want {
		ok, err := r.exists(run)
		if err != nil {
			return added, err
		}
		if ok {
			continue
		}
		code, out, err := run(r.command("-I")...)
		if err == nil && code != 0 {
			err = fmt.Errorf("iptables -I %s: exit %d: %s", r, code, strings.TrimSpace(out))
		}
		if err != nil {
			return added, err
		}
		added = append(added, r)
	}
	return added, nil
}

// removeRules deletes every copy of each rule; it goes on past errors and returns the first.
func removeRules(run iptablesRunner, rs []rule) error {
	var first error
	for _, r := range rs {
		for i := 0; i < 16; i++ {
			ok, err := r.exists(run)
			if err != nil || !ok {
				if first == nil {
					first = err
				}
				break
			}
			code, out, err := run(r.command("-D")...)
			if err == nil && code != 0 {
				err = fmt.Errorf("iptables -D %s: exit %d: %s", r, code, strings.TrimSpace(out))
			}
			if err != nil {
				if first == nil {
					first = err
				}
				break
			}
		}
	}
	return first
}
