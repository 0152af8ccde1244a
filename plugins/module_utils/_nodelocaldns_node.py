# -*- coding: utf-8 -*-
# Copyright: nodeops.kubernetes contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The node-side setup of NodeLocal DNSCache: its dummy interface and its iptables rules.

node-cache puts its addresses on a dummy interface (``nodelocaldns``) and adds
rules so DNS to and from those addresses skips conntrack (raw table, NOTRACK)
and is accepted (filter table). It removes them when it stops cleanly; a killed
pod or ``-skipteardown`` leaves them behind, and then DNS for the kube-dns
ClusterIP keeps going to an address nobody answers on.

:func:`cache_rules` picks exactly those rules out of ``iptables-save`` output
(the rule shape node-cache writes, for the given addresses and ports), so a
rule of anyone else is never touched.  Standard library only (runs on the node).
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import shlex

# (table, chain) -> targets of the cache's rules
CACHE_CHAINS = {
    ("raw", "PREROUTING"): ("NOTRACK", "CT"),
    ("raw", "OUTPUT"): ("NOTRACK", "CT"),
    ("filter", "INPUT"): ("ACCEPT",),
    ("filter", "OUTPUT"): ("ACCEPT",),
}


def _option(tokens, *names):
    for index, token in enumerate(tokens[:-1]):
        if token in names:
            return tokens[index + 1]
    return None


def _address(value):
    if value is None:
        return None
    return value[:-3] if value.endswith("/32") else value


def parse_save(text):
    """(table, chain, tokens after the chain) of every ``-A`` line of ``iptables-save`` output."""
    rules = []
    table = None
    for line in (text or "").splitlines():
        line = line.strip()
        if line.startswith("*"):
            table = line[1:].strip()
            continue
        if not line.startswith("-A ") or table is None:
            continue
        try:
            tokens = shlex.split(line)
        except ValueError:
            continue
        if len(tokens) < 3:
            continue
        rules.append((table, tokens[1], tokens[2:]))
    return rules


def is_cache_rule(table, chain, tokens, addresses, ports):
    """Whether a rule has the shape of node-cache's: its chain and target, one of ``addresses``, one of ``ports``."""
    targets = CACHE_CHAINS.get((table, chain))
    if not targets:
        return False
    target = _option(tokens, "-j", "--jump")
    if target not in targets:
        return False
    if target == "CT" and "--notrack" not in tokens:
        return False
    if _option(tokens, "-p", "--protocol") not in ("tcp", "udp"):
        return False
    address = _address(_option(tokens, "-d", "--destination")) or _address(_option(tokens, "-s", "--source"))
    if address not in addresses:
        return False
    port = _option(tokens, "--dport", "--destination-port") or _option(tokens, "--sport", "--source-port")
    return port is not None and port in [str(p) for p in ports]


def cache_rules(save_text, addresses, ports):
    """The cache's rules in ``iptables-save`` output, as dicts (table, chain, args, line)."""
    found = []
    for table, chain, tokens in parse_save(save_text):
        if is_cache_rule(table, chain, tokens, addresses, ports):
            found.append({"table": table, "chain": chain, "args": tokens,
                          "line": "-A %s %s" % (chain, " ".join(shlex.quote(t) for t in tokens))})
    return found


def interface_addresses(ip_output):
    """IPv4 addresses of ``ip -o -4 addr show dev X`` output."""
    addresses = []
    for line in (ip_output or "").splitlines():
        fields = line.split()
        if "inet" in fields and fields.index("inet") + 1 < len(fields):
            addresses.append(fields[fields.index("inet") + 1].split("/")[0])
    return addresses
