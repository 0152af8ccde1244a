"""Small helpers shared by the simulated API server modules."""

import datetime
import hashlib
import json
import random
import re

SUFFIX_ALPHABET = "bcdfghjklmnpqrstvwxz2456789"


def utcnow():
    return datetime.datetime.now(datetime.timezone.utc)


def fmt_time(when=None):
    """RFC 3339 with second precision, as metav1.Time serialises."""
    when = when or utcnow()
    return when.strftime("%Y-%m-%dT%H:%M:%SZ")


def fmt_micro_time(when=None):
    """RFC 3339 with microseconds, as metav1.MicroTime serialises."""
    when = when or utcnow()
    return when.strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def parse_time(text):
    if not text:
        return None
    text = str(text).strip()
    if text.endswith("Z"):
        text = text[:-1] + "+00:00"
    try:
        return datetime.datetime.fromisoformat(text)
    except ValueError:
        return None


def random_suffix(length=5):
    return "".join(random.choice(SUFFIX_ALPHABET) for _ in range(length))


def stable_hash(value, length=10):
    """A short, deterministic, name-safe hash of a JSON-able value."""
    digest = hashlib.sha256(json.dumps(value, sort_keys=True).encode()).digest()
    number = int.from_bytes(digest[:8], "big")
    out = []
    for _ in range(length):
        number, rem = divmod(number, len(SUFFIX_ALPHABET))
        out.append(SUFFIX_ALPHABET[rem])
    return "".join(out)


_QUANTITY = re.compile(r"^([+-]?[0-9.]+(?:[eE][+-]?[0-9]+)?)([a-zA-Z]*)$")
_SUFFIXES = {
    "": 1, "n": 1e-9, "u": 1e-6, "m": 1e-3, "k": 1e3, "M": 1e6, "G": 1e9, "T": 1e12,
    "P": 1e15, "E": 1e18, "Ki": 2 ** 10, "Mi": 2 ** 20, "Gi": 2 ** 30, "Ti": 2 ** 40,
    "Pi": 2 ** 50, "Ei": 2 ** 60,
}


def parse_quantity(value):
    """Parse a Kubernetes resource quantity (``100m``, ``512Mi``, ``2``) to a float."""
    if value is None:
        return 0.0
    if isinstance(value, (int, float)):
        return float(value)
    match = _QUANTITY.match(str(value).strip())
    if not match or match.group(2) not in _SUFFIXES:
        raise ValueError("quantities must match the regular expression "
                         "'^([+-]?[0-9.]+)([eEinumkKMGTP]*[-+]?[0-9]*)$'")
    return float(match.group(1)) * _SUFFIXES[match.group(2)]


def human_duration(seconds):
    """Format an age like apimachinery's HumanDuration (``5m3s``, ``2d``)."""
    seconds = int(seconds)
    if seconds < -1:
        return "<invalid>"
    if seconds < 0:
        return "0s"
    if seconds < 120:
        return "%ds" % seconds
    minutes = seconds // 60
    if minutes < 10:
        rest = seconds % 60
        return "%dm%ds" % (minutes, rest) if rest else "%dm" % minutes
    if minutes < 180:
        return "%dm" % minutes
    hours = seconds // 3600
    if hours < 8:
        rest = minutes % 60
        return "%dh%dm" % (hours, rest) if rest else "%dh" % hours
    if hours < 48:
        return "%dh" % hours
    if hours < 24 * 8:
        rest = hours % 24
        return "%dd%dh" % (hours // 24, rest) if rest else "%dd" % (hours // 24)
    if hours < 24 * 365 * 2:
        return "%dd" % (hours // 24)
    if hours < 24 * 365 * 8:
        days = hours // 24
        rest = days % 365
        return "%dy%dd" % (days // 365, rest) if rest else "%dy" % (days // 365)
    return "%dy" % (hours // 24 // 365)


def age(obj, now=None):
    created = parse_time((obj.get("metadata") or {}).get("creationTimestamp"))
    if created is None:
        return "<unknown>"
    now = now or utcnow()
    return human_duration((now - created).total_seconds())


def scaled_int_or_percent(value, total, round_up):
    """intstr.GetScaledValueFromIntOrPercent."""
    if value is None:
        return 0
    if isinstance(value, int):
        return value
    text = str(value)
    if text.endswith("%"):
        pct = int(text[:-1])
        raw = pct * total / 100.0
        import math
        return int(math.ceil(raw)) if round_up else int(math.floor(raw))
    return int(text)


def get_path(obj, *keys, default=None):
    cur = obj
    for key in keys:
        if isinstance(cur, dict):
            cur = cur.get(key)
        elif isinstance(cur, list) and isinstance(key, int) and -len(cur) <= key < len(cur):
            cur = cur[key]
        else:
            return default
        if cur is None:
            return default
    return cur


def pod_is_ready(pod):
    for cond in get_path(pod, "status", "conditions", default=[]) or []:
        if cond.get("type") == "Ready":
            return cond.get("status") == "True"
    return False


def node_ready_status(node):
    for cond in get_path(node, "status", "conditions", default=[]) or []:
        if cond.get("type") == "Ready":
            return cond.get("status") or "Unknown"
    return "Unknown"
