package main

import (
	"fmt"
	"sort"
	"strings"
	"testing"
)

func TestRuleList(t *testing.T) {
	got := map[string]bool{}
	for _, r := range rules([]string{"169.254.20.10"}, 53, 8080) {
		s := r.String()
		if got[s] {
			t.Errorf("rule twice: %s", s)
		}
		got[s] = true
		if !strings.Contains(s, `--comment "`+ruleComment+`"`) {
			t.Errorf("no comment: %s", s)
		}
	}
	const c = ` -m comment --comment "` + ruleComment + `"`
	var want []string
	for _, p := range []string{"tcp", "udp"} {
		want = append(want,
			"-t raw PREROUTING -p "+p+" -d 169.254.20.10 --dport 53"+c+" -j NOTRACK",
			"-t raw OUTPUT -p "+p+" -s 169.254.20.10 --sport 53"+c+" -j NOTRACK",
			"-t raw OUTPUT -p "+p+" -d 169.254.20.10 --dport 53"+c+" -j NOTRACK",
			"-t filter INPUT -p "+p+" -d 169.254.20.10 --dport 53"+c+" -j ACCEPT",
			"-t filter OUTPUT -p "+p+" -s 169.254.20.10 --sport 53"+c+" -j ACCEPT")
	}
	want = append(want,
		"-t raw OUTPUT -p tcp -d 169.254.20.10 --dport 8080"+c+" -j NOTRACK",
		"-t raw OUTPUT -p tcp -s 169.254.20.10 --sport 8080"+c+" -j NOTRACK",
		"-t filter INPUT -p tcp -d 169.254.20.10 --dport 8080"+c+" -j ACCEPT",
		"-t filter OUTPUT -p tcp -s 169.254.20.10 --sport 8080"+c+" -j ACCEPT")
	for _, w := range want {
		if !got[w] {
			t.Errorf("missing: %s", w)
		}
	}
	if len(got) != len(want) {
		t.Errorf("%d rules, want %d", len(got), len(want))
	}
	if n := len(rules([]string{"169.254.20.10", "10.96.0.10"}, 53, 8080)); n != 2*len(want) {
		t.Errorf("two local IPs: %d rules, want %d", n, 2*len(want))
	}
}

// fakeIPTables keeps rules as strings and answers -C, -I and -D like iptables.
type fakeIPTables struct {
	rules map[string]int
	calls []string
}

func (f *fakeIPTables) run(args ...string) (int, string, error) {
	if len(args) < 5 || args[0] != "-w" || args[1] != "-t" {
		return 2, "bad call", nil
	}
	op := args[3]
	key := strings.Join(append([]string{args[2], args[4]}, args[5:]...), " ")
	f.calls = append(f.calls, op)
	switch op {
	case "-C":
		if f.rules[key] > 0 {
			return 0, "", nil
		}
		return 1, "iptables: Bad rule (does a matching rule exist in that chain?).", nil
	case "-I":
		f.rules[key]++
	case "-D":
		if f.rules[key] == 0 {
			return 1, "no such rule", nil
		}
		f.rules[key]--
	default:
		return 2, fmt.Sprintf("unknown op %s", op), nil
	}
	return 0, "", nil
}

func (f *fakeIPTables) count(op string) int {
	n := 0
	for _, c := range f.calls {
		if c == op {
			n++
		}
	}
	return n
}

func TestEnsureChecksBeforeInserting(t *testing.T) {
	f := &fakeIPTables{rules: map[string]int{}}
	want := rules([]string{"169.254.20.10"}, 53, 8080)
	added, err := ensureRules(f.run, want)
	if err != nil || len(added) != len(want) || f.count("-I") != len(want) {
		t.Fatalf("first run: added %d, %d inserts, %v", len(added), f.count("-I"), err)
	}
	// a restart or a periodic check: nothing is added twice
	added, err = ensureRules(f.run, want)
	if err != nil || len(added) != 0 || f.count("-I") != len(want) {
		t.Fatalf("second run: added %d, %d inserts, %v", len(added), f.count("-I"), err)
	}
	// one rule removed behind our back comes back, alone
	key := "raw PREROUTING " + strings.Join(want[0].args, " ")
	f.rules[key] = 0
	added, err = ensureRules(f.run, want)
	if err != nil || len(added) != 1 || added[0].String() != want[0].String() {
		t.Fatalf("re-add: %v, %v", added, err)
	}
	for k, n := range f.rules {
		if n != 1 {
			t.Errorf("%s: %d copies", k, n)
		}
	}
}

func TestRemoveDeletesEveryCopy(t *testing.T) {
	f := &fakeIPTables{rules: map[string]int{}}
	want := rules([]string{"169.254.20.10"}, 53, 8080)
	if _, err := ensureRules(f.run, want); err != nil {
		t.Fatal(err)
	}
	f.rules["raw OUTPUT "+strings.Join(want[2].args, " ")] += 2 // duplicates left by someone else
	if err := removeRules(f.run, want); err != nil {
		t.Fatal(err)
	}
	var left []string
	for k, n := range f.rules {
		if n != 0 {
			left = append(left, k)
		}
	}
	sort.Strings(left)
	if len(left) != 0 {
		t.Fatalf("left: %q", left)
	}
	if err := removeRules(f.run, want); err != nil {
		t.Fatalf("removing absent rules: %v", err)
	}
}

func TestIPTablesErrorsAreReported(t *testing.T) {
	broken := func(args ...string) (int, string, error) { return 4, "can't initialize iptables table `raw'", nil }
	_, err := ensureRules(broken, rules([]string{"169.254.20.10"}, 53, 8080))
	if err == nil || !strings.Contains(err.Error(), "exit 4") {
		t.Fatalf("got %v", err)
	}
}
