# -*- coding: utf-8 -*-
# Copyright: nodeops.kubernetes contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""What NodeLocal DNSCache needs to know about a cluster, and the decisions made from it.

Everything is read from the cluster, never asked of the operator:

* the kube-dns Service ClusterIP (the address pods use today),
* the cluster domain (``clusterDomain`` of the kubeadm kubelet ConfigMap),
* kube-proxy's mode (``mode`` of the kube-proxy ConfigMap's KubeProxyConfiguration).

From these and the requested local address, :func:`plan_cluster` decides which
addresses the cache binds (``-localip``), where it forwards cluster-domain
queries, and whether the kubelets' ``clusterDNS`` must point at the cache.
The functions take plain dictionaries (the API objects as JSON) so that they
are tested without a cluster.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import ipaddress

from ansible_collections.nodeops.kubernetes.plugins.module_utils._errors import NodeOpsError

try:
    import yaml

    HAS_YAML = True
except ImportError:  # pragma: no cover - PyYAML comes with ansible-core
    HAS_YAML = False

PROXY_MODES = ("iptables", "ipvs", "nftables")
KUBELET_CHOICES = ("auto", "always", "never")
DEFAULT_DOMAIN = "cluster.local"
LINK_LOCAL = ipaddress.ip_network("169.254.0.0/16")
# DaemonSets that other installers use for the same job; two caches on one address break DNS.
KNOWN_OTHER_DAEMONSETS = ("nodelocaldns", "node-local-dns")


def _yaml_document(text, source):
    if not HAS_YAML:  # pragma: no cover
        raise NodeOpsError("PyYAML is required on the controller to read %s" % source)
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = " at line %d" % (mark.line + 1) if mark is not None else ""
        raise NodeOpsError("%s is not valid YAML%s: %s; fix it, nothing was changed"
                           % (source, where, getattr(exc, "problem", exc)))
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise NodeOpsError("%s is not a YAML mapping; fix it, nothing was changed" % source)
    return data


def parse_ipv4(value, what):
    """An IPv4 address, or a NodeOpsError that names ``what``."""
    try:
        address = ipaddress.ip_address(str(value).strip())
    except ValueError:
        raise NodeOpsError("%s %r is not an IP address" % (what, value))
    if address.version != 4:
        raise NodeOpsError("%s %s is IPv6; this role deploys NodeLocal DNSCache for IPv4 clusters only" % (what, value))
    return str(address)


def cluster_domain(kubelet_config_text, source):
    """``clusterDomain`` of a KubeletConfiguration text, else cluster.local (the kubelet's kubeadm default)."""
    if kubelet_config_text is None:
        return DEFAULT_DOMAIN, "default (no kubelet ConfigMap)"
    data = _yaml_document(kubelet_config_text, source)
    domain = data.get("clusterDomain")
    if not domain:
        return DEFAULT_DOMAIN, "default (%s has no clusterDomain)" % source
    domain = str(domain).strip().rstrip(".")
    if not domain or any(not label for label in domain.split(".")):
        raise NodeOpsError("clusterDomain %r in %s is not a DNS domain; fix it, nothing was changed"
                           % (data.get("clusterDomain"), source))
    return domain, source


def kubelet_cluster_dns(kubelet_config_text, source):
    """``clusterDNS`` of a KubeletConfiguration text as a list of strings (empty when unset)."""
    if kubelet_config_text is None:
        return []
    value = _yaml_document(kubelet_config_text, source).get("clusterDNS") or []
    if not isinstance(value, list):
        raise NodeOpsError("clusterDNS in %s is not a list; fix it, nothing was changed" % source)
    return [str(item) for item in value]


def proxy_mode(kube_proxy_config_text, source):
    """kube-proxy's mode from its KubeProxyConfiguration text; an empty mode is iptables on Linux."""
    if kube_proxy_config_text is None:
        raise NodeOpsError("no kube-proxy configuration found (%s); give proxy_mode explicitly if kube-proxy "
                           "is configured elsewhere or replaced by a CNI" % source)
    mode = str(_yaml_document(kube_proxy_config_text, source).get("mode") or "").strip().lower()
    if not mode:
        return "iptables"
    if mode not in PROXY_MODES:
        raise NodeOpsError("kube-proxy mode %r in %s is not one of %s; NodeLocal DNSCache is not deployed by "
                           "this role in that mode" % (mode, source, ", ".join(PROXY_MODES)))
    return mode


def service_cluster_ip(service, what):
    """The ClusterIP of a Service object (dict); refuses headless or missing ones."""
    if not service:
        raise NodeOpsError("the %s Service does not exist; NodeLocal DNSCache needs the cluster DNS Service "
                           "(kube-dns, kept by kubeadm's CoreDNS addon). Set dns_service if it has another name"
                           % what)
    spec = service.get("spec") or {}
    ip = spec.get("clusterIP")
    if not ip or ip == "None":
        raise NodeOpsError("the %s Service is headless (no ClusterIP); pods cannot use it as their nameserver"
                           % what)
    return parse_ipv4(ip, "ClusterIP of the %s Service" % what)


def daemonset_summary(daemonset):
    """What a node-cache DaemonSet (dict) runs: image, -localip addresses, rollout numbers."""
    if not daemonset:
        return None
    spec = ((daemonset.get("spec") or {}).get("template") or {}).get("spec") or {}
    containers = spec.get("containers") or [{}]
    args = [str(arg) for arg in containers[0].get("args") or []]
    local_ips = []
    if "-localip" in args and args.index("-localip") + 1 < len(args):
        local_ips = args[args.index("-localip") + 1].split(",")
    status = daemonset.get("status") or {}
    metadata = daemonset.get("metadata") or {}
    managers = sorted(set(entry.get("manager") for entry in metadata.get("managedFields") or [] if entry.get("manager")))
    return {
        "name": metadata.get("name"),
        "image": containers[0].get("image"),
        "local_ips": local_ips,
        "managers": managers,
        "desired": status.get("desiredNumberScheduled", 0),
        "updated": status.get("updatedNumberScheduled", 0),
        "ready": status.get("numberReady", 0),
    }


def localip_argument(addresses):
    """The ``-localip`` value: addresses joined by commas, never an empty element (a trailing comma crash-loops)."""
    cleaned = [str(address).strip() for address in addresses if str(address).strip()]
    if not cleaned:
        raise NodeOpsError("internal error: no address for -localip")  # pragma: no cover
    return ",".join(cleaned)


def plan_cluster(facts, local_ip, kubelet_choice, state):
    """Decide the deployment from the detected ``facts``.

    ``facts`` keys: cluster_dns_ip, proxy_mode, kubelet_cluster_dns (ConfigMap), upstream_ip (or None),
    daemonset (daemonset_summary of ours or None), others (summaries of other installers' DaemonSets).
    Returns a dict with bind_ips, localip_arg, forward_cluster_to (None: the upstream Service's ClusterIP,
    known only after it exists), roll_kubelets, kubelet_cluster_dns_target, and notes.
    """
    if kubelet_choice not in KUBELET_CHOICES:
        raise NodeOpsError("kubelet_cluster_dns must be one of %s, not %r" % (", ".join(KUBELET_CHOICES),
                                                                              kubelet_choice))
    local_ip = parse_ipv4(local_ip, "local_ip")
    dns_ip = facts["cluster_dns_ip"]
    mode = facts["proxy_mode"]
    notes = []
    if local_ip == dns_ip:
        raise NodeOpsError("local_ip %s is the kube-dns Service ClusterIP; choose a link-local address such as "
                           "169.254.20.10" % local_ip)
    if ipaddress.ip_address(local_ip) not in LINK_LOCAL:
        notes.append("local_ip %s is not link-local (169.254.0.0/16); make sure no node or Service uses it" % local_ip)
    for other in facts.get("others") or []:
        if state == "present":
            raise NodeOpsError(
                "the DaemonSet kube-system/%s (image %s, addresses %s, managed by %s) already runs a node-local DNS "
                "cache; two caches on one node fight over the interface and the iptables rules. Remove it first "
                "(kubespray: enable_nodelocaldns: false) or set nodelocaldns_name to %s to take it over"
                % (other["name"], other["image"], ",".join(other["local_ips"]) or "-",
                   ",".join(other["managers"]) or "unknown", other["name"]))
    if mode == "ipvs":
        # kube-ipvs0 holds every ClusterIP, so the cache can bind only the local address, and cluster-domain
        # misses go to the kube-dns ClusterIP itself; pods reach the cache only through the kubelet's clusterDNS.
        bind_ips = [local_ip]
        forward_to = dns_ip
        if kubelet_choice == "never" and state == "present":
            raise NodeOpsError("kube-proxy runs in IPVS mode, where pods reach the cache only when the kubelets' "
                               "clusterDNS points at %s; kubelet_cluster_dns=never would deploy a cache no pod "
                               "uses. Use auto (the default) or always" % local_ip)
        roll = kubelet_choice in ("auto", "always")
    else:
        # iptables (and nftables) mode: the cache also binds the kube-dns ClusterIP on its dummy interface and
        # skips conntrack for it, so pods that keep the kube-dns nameserver are answered locally. Misses go to a
        # second Service (kube-dns-upstream) over the same CoreDNS pods, whose ClusterIP the cache does not hold.
        bind_ips = [local_ip, dns_ip]
        forward_to = facts.get("upstream_ip")
        roll = kubelet_choice == "always"
        if mode == "nftables":
            notes.append("kube-proxy runs in nftables mode; the cache's NOTRACK rules are iptables rules (iptables-nft "
                         "on most nodes) and are handled like in iptables mode")
    if state == "absent":
        target = [dns_ip]
        roll = any(address == local_ip for address in facts.get("kubelet_cluster_dns") or [])
    else:
        target = [local_ip] if roll else list(facts.get("kubelet_cluster_dns") or [dns_ip])
    return {
        "bind_ips": bind_ips,
        "localip_arg": localip_argument(bind_ips),
        "forward_cluster_to": forward_to,
        "roll_kubelets": roll,
        "kubelet_cluster_dns_target": target,
        "notes": notes,
    }


def resolv_conf_nameservers(text):
    """The ``nameserver`` addresses of a resolv.conf text, in order."""
    servers = []
    for line in (text or "").splitlines():
        fields = line.split("#", 1)[0].split(";", 1)[0].split()
        if len(fields) >= 2 and fields[0] == "nameserver":
            servers.append(fields[1])
    return servers


def loopback_resolvers(servers):
    """Nameservers that are loopback addresses (systemd-resolved's 127.0.0.53 and the like)."""
    found = []
    for server in servers:
        try:
            if ipaddress.ip_address(server).is_loopback:
                found.append(server)
        except ValueError:
            continue
    return found


def plan_node(kubelet_config_text, cluster, state, local_ip, resolv_text, source):
    """What changes on one node: its kubelet clusterDNS, and what its new pods must get as nameserver.

    ``cluster`` is the result of nodeops.kubernetes.nodelocaldns_facts. Refusals are reasons not to touch
    the cluster at all (checked on every node before anything changes).
    """
    plan = cluster["plan"]
    before = kubelet_cluster_dns(kubelet_config_text, source)
    refusals = []
    notes = []
    servers = resolv_conf_nameservers(resolv_text)
    own = set([local_ip, cluster["cluster_dns_ip"]])
    looping = [server for server in servers if server in own]
    if state == "present" and looping:
        refusals.append(
            "the resolv.conf the kubelet gives hostNetwork pods lists %s, an address of the cache itself, so the "
            "cache would forward names outside the cluster to itself (a loop). Point the kubelet's resolvConf at a "
            "file with the upstream resolvers (on systemd-resolved hosts /run/systemd/resolve/resolv.conf)"
            % ", ".join(looping))
    if not servers:
        notes.append("the kubelet's resolv.conf lists no nameserver; names outside the cluster will not resolve")
    if state == "absent":
        # every kubelet that uses the cache goes back to kube-dns, whatever the ConfigMap said
        target = [cluster["cluster_dns_ip"] if address == local_ip else address for address in before]
    elif plan["roll_kubelets"]:
        target = list(plan["kubelet_cluster_dns_target"])
    else:
        target = before
    return {
        "cluster_dns_before": before,
        "cluster_dns_target": target,
        "kubelet_change": target != before,
        "expected_nameserver": (target or [cluster["cluster_dns_ip"]])[0],
        "resolv_nameservers": servers,
        "refusals": refusals,
        "notes": notes,
    }
