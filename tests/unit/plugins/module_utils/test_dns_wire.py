"""Tests of the DNS query encoder and answer decoder, and of a real query over loopback."""

import socket
import struct
import threading

import pytest

from ansible_collections.nodeops.kubernetes.plugins.module_utils._dns_wire import decode_answer, encode_query, query
from ansible_collections.nodeops.kubernetes.plugins.module_utils._errors import NodeOpsError


def answer_for(request, addresses, rcode=0, compress=True):
    """A response to ``request`` with A records, as a DNS server would send it."""
    ident = struct.unpack("!H", request[:2])[0]
    question = request[12:]
    header = struct.pack("!HHHHHH", ident, 0x8180 | rcode, 1, len(addresses), 0, 0)
    records = b""
    for address in addresses:
        name = b"\xc0\x0c" if compress else question[:-4]
        records += name + struct.pack("!HHIH", 1, 1, 30, 4) + socket.inet_aton(address)
    return header + question + records


def test_query_encoding_is_rfc1035():
    packet = encode_query("kubernetes.default.svc.cluster.local", "A", 0x1234)
    assert packet[:12] == struct.pack("!HHHHHH", 0x1234, 0x0100, 1, 0, 0, 0)
    assert packet[12:] == (b"\x0akubernetes\x07default\x03svc\x07cluster\x05local\x00" + struct.pack("!HH", 1, 1))


@pytest.mark.parametrize("name", ["", "a..b", "x" * 64 + ".local"])
def test_invalid_names_are_refused(name):
    with pytest.raises(NodeOpsError, match="not a valid DNS name"):
        encode_query(name, "A", 1)


@pytest.mark.parametrize("compress", [True, False])
def test_answers_are_decoded_with_and_without_name_compression(compress):
    request = encode_query("kubernetes.default.svc.cluster.local", "A", 7)
    rcode, addresses = decode_answer(answer_for(request, ["10.96.0.1", "10.96.0.2"], compress=compress), 7, "A")
    assert rcode == "NOERROR"
    assert addresses == ["10.96.0.1", "10.96.0.2"]


def test_nxdomain_and_wrong_id_are_reported():
    request = encode_query("nope.cluster.local", "A", 9)
    assert decode_answer(answer_for(request, [], rcode=3), 9, "A") == ("NXDOMAIN", [])
    with pytest.raises(NodeOpsError, match="query id"):
        decode_answer(answer_for(request, []), 10, "A")


def test_truncated_answer_is_an_error_not_a_crash():
    request = encode_query("a.b", "A", 1)
    with pytest.raises(NodeOpsError, match="truncated"):
        decode_answer(answer_for(request, ["10.0.0.1"])[:-6], 1, "A")


def serve_once(sock, protocol, addresses):
    if protocol == "udp":
        data, peer = sock.recvfrom(512)
        sock.sendto(answer_for(data, addresses), peer)
        return
    conn = sock.accept()[0]
    length = struct.unpack("!H", conn.recv(2))[0]
    data = conn.recv(length)
    reply = answer_for(data, addresses)
    conn.sendall(struct.pack("!H", len(reply)) + reply)
    conn.close()


@pytest.mark.parametrize("protocol", ["udp", "tcp"])
def test_real_query_over_loopback(protocol):
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM if protocol == "udp" else socket.SOCK_STREAM)
    sock.bind(("127.0.0.1", 0))
    if protocol == "tcp":
        sock.listen(1)
    thread = threading.Thread(target=serve_once, args=(sock, protocol, ["10.96.0.1"]))
    thread.start()
    try:
        result = query("127.0.0.1", "kubernetes.default.svc.cluster.local", port=sock.getsockname()[1],
                       protocol=protocol, timeout=2)
    finally:
        thread.join(5)
        sock.close()
    assert result["rcode"] == "NOERROR"
    assert result["addresses"] == ["10.96.0.1"]


def test_no_answer_is_a_timeout_error_naming_the_server():
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.bind(("127.0.0.1", 0))
    try:
        with pytest.raises(NodeOpsError, match="no DNS answer from 127.0.0.1"):
            query("127.0.0.1", "a.b", port=sock.getsockname()[1], timeout=0.2)
    finally:
        sock.close()
