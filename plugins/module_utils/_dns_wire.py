# -*- coding: utf-8 -*-
# Copyright: nodeops.kubernetes contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""A DNS query and the parsing of its answer (RFC 1035 wire format), standard library only.

Runs on the node's own Python: a node has no dig or nslookup we can count on,
and a check that the cache answers must be a real query, not a port probe.
Only what a health check needs: one question, A or AAAA, answers read back.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import socket
import struct
import time

from ansible_collections.nodeops.kubernetes.plugins.module_utils._errors import NodeOpsError

QTYPES = {"A": 1, "AAAA": 28}
RCODES = {0: "NOERROR", 1: "FORMERR", 2: "SERVFAIL", 3: "NXDOMAIN", 4: "NOTIMP", 5: "REFUSED"}


def encode_query(qname, qtype, query_id):
    """The bytes of a recursive query for ``qname`` (a dotted name) of type ``qtype`` (A or AAAA)."""
    if qtype not in QTYPES:
        raise NodeOpsError("query type %r is not supported; use A or AAAA" % qtype)
    labels = qname.rstrip(".").split(".")
    if not qname.strip(".") or any(not label or len(label) > 63 for label in labels):
        raise NodeOpsError("%r is not a valid DNS name" % qname)
    header = struct.pack("!HHHHHH", query_id & 0xFFFF, 0x0100, 1, 0, 0, 0)
    name = b"".join(struct.pack("!B", len(label)) + label.encode("ascii") for label in labels) + b"\x00"
    return header + name + struct.pack("!HH", QTYPES[qtype], 1)


def _skip_name(data, offset):
    """Offset just after the (possibly compressed) name that starts at ``offset``."""
    while True:
        if offset >= len(data):
            raise NodeOpsError("truncated DNS answer (name runs past the end)")
        length = data[offset]
        if length & 0xC0 == 0xC0:
            return offset + 2
        if length == 0:
            return offset + 1
        offset += 1 + length


def decode_answer(data, query_id, qtype):
    """(rcode name, [addresses]) of a DNS response to the query ``query_id``."""
    if len(data) < 12:
        raise NodeOpsError("DNS answer of %d bytes is too short" % len(data))
    ident, flags, qdcount, ancount, _nscount, _arcount = struct.unpack("!HHHHHH", data[:12])
    if ident != query_id & 0xFFFF:
        raise NodeOpsError("DNS answer is for query id %d, not %d" % (ident, query_id & 0xFFFF))
    if not flags & 0x8000:
        raise NodeOpsError("DNS packet is a query, not an answer")
    rcode = RCODES.get(flags & 0x000F, "RCODE%d" % (flags & 0x000F))
    offset = 12
    for _question in range(qdcount):
        offset = _skip_name(data, offset) + 4
    addresses = []
    for _record in range(ancount):
        offset = _skip_name(data, offset)
        if offset + 10 > len(data):
            raise NodeOpsError("truncated DNS answer (record header)")
        rtype, _rclass, _ttl, rdlength = struct.unpack("!HHIH", data[offset:offset + 10])
        offset += 10
        rdata = data[offset:offset + rdlength]
        offset += rdlength
        if rtype == QTYPES[qtype] == 1 and rdlength == 4:
            addresses.append(socket.inet_ntop(socket.AF_INET, rdata))
        elif rtype == QTYPES[qtype] == 28 and rdlength == 16:
            addresses.append(socket.inet_ntop(socket.AF_INET6, rdata))
    return rcode, addresses


def _recv_exact(sock, count):
    data = b""
    while len(data) < count:
        chunk = sock.recv(count - len(data))
        if not chunk:
            raise NodeOpsError("the server closed the TCP connection before the whole answer came")
        data += chunk
    return data


def query(server, qname, qtype="A", port=53, protocol="udp", timeout=2.0, query_id=None):
    """Send one query to ``server`` and return dict(rcode, addresses, seconds)."""
    query_id = int(time.time() * 1000) & 0xFFFF if query_id is None else query_id
    packet = encode_query(qname, qtype, query_id)
    family = socket.AF_INET6 if ":" in server else socket.AF_INET
    started = time.time()
    where = "%s:%s/%s" % (server, port, protocol)
    try:
        if protocol == "tcp":
            sock = socket.socket(family, socket.SOCK_STREAM)
            sock.settimeout(timeout)
            try:
                sock.connect((server, port))
                sock.sendall(struct.pack("!H", len(packet)) + packet)
                length = struct.unpack("!H", _recv_exact(sock, 2))[0]
                data = _recv_exact(sock, length)
            finally:
                sock.close()
        else:
            sock = socket.socket(family, socket.SOCK_DGRAM)
            sock.settimeout(timeout)
            try:
                sock.sendto(packet, (server, port))
                data = sock.recvfrom(4096)[0]
            finally:
                sock.close()
    except socket.timeout:
        raise NodeOpsError("no DNS answer from %s for %s within %ss" % (where, qname, timeout),
                           server=server, qname=qname)
    except (OSError, socket.error) as exc:
        raise NodeOpsError("DNS query to %s for %s failed: %s" % (where, qname, exc), server=server, qname=qname)
    rcode, addresses = decode_answer(data, query_id, qtype)
    return {"rcode": rcode, "addresses": addresses, "seconds": round(time.time() - started, 4)}


def ask(params, sleep=time.sleep, send=None):
    """Ask until a good answer comes or the tries run out; every failure is asked again.

    ``params``: server, qname, qtype, port, protocol, timeout, retries, expect (the options of the
    ``dns_query`` module). A server that was just started may not answer yet, or answer SERVFAIL or
    without the expected address until its upstream is reachable: a proof right after a deployment
    waits for it within the tries instead of failing on the first answer. Returns the good answer
    (rcode, addresses, seconds, attempts, server, qname); raises the last failure as a NodeOpsError.
    """
    send = send or query
    tries = max(params["retries"], 1)
    last_error = None
    for attempt in range(1, tries + 1):
        if attempt > 1:
            sleep(1)
        try:
            return _checked(params, send(params["server"], params["qname"], qtype=params["qtype"],
                                         port=params["port"], protocol=params["protocol"],
                                         timeout=params["timeout"]), attempt)
        except NodeOpsError as exc:
            last_error = exc
    details = dict(last_error.details)
    details.update(attempts=tries, server=params["server"], qname=params["qname"])
    raise NodeOpsError("%s (after %d tries)" % (last_error.message, tries), **details)


def _checked(params, answer, attempt):
    """The answer as the result, or a NodeOpsError saying what is wrong with it."""
    where = "%s:%s/%s" % (params["server"], params["port"], params["protocol"])
    answer.update(attempts=attempt, server=params["server"], qname=params["qname"])
    if answer["rcode"] != "NOERROR":
        raise NodeOpsError("%s answered %s for %s" % (where, answer["rcode"], params["qname"]), **answer)
    missing = [address for address in params["expect"] if address not in answer["addresses"]]
    if missing:
        raise NodeOpsError("%s answered %s for %s, without the expected %s"
                           % (where, ", ".join(answer["addresses"]) or "no address", params["qname"],
                              ", ".join(missing)), **answer)
    return answer
