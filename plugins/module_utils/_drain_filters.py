# -*- coding: utf-8 -*-
# Copyright: nodeops.kubernetes contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Pure logic of a node drain: label selectors and the pod filters.

Nothing here talks to an API server. Pods, PodDisruptionBudgets and nodes are
the plain dictionaries the Kubernetes API returns (camelCase keys), so the
code is easy to test with literal data.

The pod filters are those of ``kubectl drain``, in the same order and with the
same meaning; only the option names in messages are ours.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import datetime
import re

from ansible_collections.nodeops.kubernetes.plugins.module_utils._errors import NodeOpsError

MIRROR_POD_ANNOTATION = "kubernetes.io/config.mirror"
UTC = datetime.timezone.utc

# --------------------------------------------------------------------------
# Label selectors (the string syntax of ``kubectl --selector``)
# --------------------------------------------------------------------------

_NAME_RE = re.compile(r"^[A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?$")
_DNS_SUBDOMAIN_RE = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$")
_SPECIAL = "!=(),<> \t\n"


def validate_label_key(key):
    """Return None when ``key`` is a valid label key, else the reason it is not."""
    if not key:
        return "a label key must not be empty"
    prefix, sep, name = key.rpartition("/")
    if sep:
        if not prefix:
            return "label key %r has an empty prefix before '/'" % key
        if len(prefix) > 253 or not _DNS_SUBDOMAIN_RE.match(prefix):
            return ("the prefix of label key %r must be a DNS subdomain: lowercase letters, digits, '-' and '.', "
                    "at most 253 characters" % key)
    if not name:
        return "label key %r has an empty name" % key
    if len(name) > 63 or not _NAME_RE.match(name):
        return ("the name part of label key %r must be at most 63 characters of letters, digits, '-', '_' "
                "or '.', beginning and ending with a letter or digit" % key)
    return None


def validate_label_value(value):
    """Return None when ``value`` is a valid label value, else the reason it is not."""
    if value == "":
        return None
    if len(value) > 63 or not _NAME_RE.match(value):
        return ("label value %r must be empty or at most 63 characters of letters, digits, '-', '_' or '.', "
                "beginning and ending with a letter or digit" % value)
    return None


def _tokenize(text):
    tokens = []
    pos = 0
    length = len(text)
    while pos < length:
        char = text[pos]
        if char in " \t\n":
            pos += 1
            continue
        two = text[pos:pos + 2]
        if two in ("==", "!="):
            tokens.append(("op", two, pos))
            pos += 2
            continue
        if char in "=<>":
            tokens.append(("op", char, pos))
            pos += 1
            continue
        if char in "!(),":
            tokens.append((char, char, pos))
            pos += 1
            continue
        start = pos
        while pos < length and text[pos] not in _SPECIAL:
            pos += 1
        word = text[start:pos]
        kind = word if word in ("in", "notin") else "word"
        tokens.append((kind, word, start))
    tokens.append(("end", "", length))
    return tokens


class LabelRequirement(object):
    """One requirement of a label selector: ``key``, ``operator`` and ``values``."""

    def __init__(self, key, operator, values=()):
        self.key = key
        self.operator = operator
        self.values = tuple(values)

    def matches(self, labels):
        labels = labels or {}
        present = self.key in labels
        value = labels.get(self.key)
        if self.operator == "exists":
            return present
        if self.operator == "!":
            return not present
        if self.operator in ("=", "==", "in"):
            return present and value in self.values
        if self.operator in ("!=", "notin"):
            return not present or value not in self.values
        if self.operator in ("<", ">"):
            if not present:
                return False
            try:
                number = int(value)
            except ValueError:
                return False
            return number < int(self.values[0]) if self.operator == "<" else number > int(self.values[0])
        raise ValueError(self.operator)

    def __str__(self):
        if self.operator == "exists":
            return self.key
        if self.operator == "!":
            return "!" + self.key
        if self.operator in ("in", "notin"):
            return "%s %s (%s)" % (self.key, self.operator, ",".join(sorted(self.values)))
        return "%s%s%s" % (self.key, self.operator, self.values[0])

    def __repr__(self):
        return "LabelRequirement(%r, %r, %r)" % (self.key, self.operator, self.values)


class LabelSelector(object):
    """A parsed label selector; an empty one matches every object."""

    def __init__(self, requirements=()):
        self.requirements = list(requirements)

    def matches(self, labels):
        return all(req.matches(labels) for req in self.requirements)

    def __str__(self):
        return ",".join(str(req) for req in self.requirements)

    def __bool__(self):
        return bool(self.requirements)

    __nonzero__ = __bool__


def parse_label_selector(text, option="pod_selector"):
    """Parse a label selector string the way the API server does.

    Supports ``key=value``, ``key==value``, ``key!=value``, ``key in (a,b)``,
    ``key notin (a,b)``, ``key``, ``!key`` and ``key>N`` / ``key<N``; keys and
    values are validated. Raises :class:`NodeOpsError` naming the position of the
    problem, so a typo is caught before anything in the cluster changes.
    """
    if text is None or not text.strip():
        return LabelSelector()
    tokens = _tokenize(text)
    index = [0]

    def fail(reason, pos):
        raise NodeOpsError(
            "invalid %s %r at character %d: %s (expected for example 'app=web', 'tier in (a,b)', "
            "'!canary' or 'env!=prod,team')" % (option, text, pos + 1, reason),
            option=option,
        )

    def peek():
        return tokens[index[0]]

    def take():
        token = tokens[index[0]]
        index[0] += 1
        return token

    def label_value(allow_empty=True):
        kind, value, pos = peek()
        if kind in ("word", "in", "notin"):
            take()
        elif allow_empty and kind in (",", ")", "end"):
            value = ""
        else:
            fail("expected a label value, found %r" % (value or "end of text"), pos)
        problem = validate_label_value(value)
        if problem:
            fail(problem, pos)
        return value

    requirements = []
    while True:
        kind, value, pos = peek()
        negated = False
        if kind == "!":
            take()
            negated = True
            kind, value, pos = peek()
        if kind not in ("word", "in", "notin"):
            fail("expected a label key, found %r" % (value or "end of text"), pos)
        take()
        key = value
        problem = validate_label_key(key)
        if problem:
            fail(problem, pos)
        kind, value, pos = peek()
        if negated:
            if kind not in (",", "end"):
                fail("'!%s' cannot be followed by an operator" % key, pos)
            requirements.append(LabelRequirement(key, "!"))
        elif kind in (",", "end"):
            requirements.append(LabelRequirement(key, "exists"))
        elif kind == "op":
            take()
            if value in ("<", ">"):
                number_pos = peek()[2]
                number = label_value(allow_empty=False)
                if not re.match(r"^-?[0-9]+$", number):
                    fail("the value after %r must be an integer" % value, number_pos)
                requirements.append(LabelRequirement(key, value, [number]))
            else:
                requirements.append(LabelRequirement(key, value, [label_value()]))
        elif kind in ("in", "notin"):
            take()
            operator = kind
            kind, value, pos = peek()
            if kind != "(":
                fail("expected '(' after %r" % operator, pos)
            take()
            values = []
            while True:
                values.append(label_value())
                kind, value, pos = peek()
                if kind == ",":
                    take()
                    continue
                if kind == ")":
                    take()
                    break
                fail("expected ',' or ')' in the value list, found %r" % (value or "end of text"), pos)
            requirements.append(LabelRequirement(key, operator, values))
        else:
            fail("expected an operator (=, ==, !=, in, notin), ',' or the end after key %r" % key, pos)
        kind, value, pos = peek()
        if kind == "end":
            break
        if kind != ",":
            fail("expected ',' between requirements, found %r" % value, pos)
        take()
    return LabelSelector(requirements)


def object_selector_matches(selector, labels):
    """Whether a ``metav1.LabelSelector`` dictionary selects an object with ``labels``.

    A null selector selects nothing, an empty one selects everything (the
    policy/v1 PodDisruptionBudget semantics).
    """
    if selector is None:
        return False
    labels = labels or {}
    for key, value in (selector.get("matchLabels") or {}).items():
        if labels.get(key) != value:
            return False
    for expression in selector.get("matchExpressions") or []:
        key = expression.get("key")
        operator = expression.get("operator")
        values = expression.get("values") or []
        if operator == "In" and labels.get(key) not in values:
            return False
        if operator == "NotIn" and key in labels and labels[key] in values:
            return False
        if operator == "Exists" and key not in labels:
            return False
        if operator == "DoesNotExist" and key in labels:
            return False
    return True


# --------------------------------------------------------------------------
# Pod helpers
# --------------------------------------------------------------------------


def pod_ref(pod):
    """``namespace/name`` of a pod."""
    metadata = pod.get("metadata") or {}
    return "%s/%s" % (metadata.get("namespace"), metadata.get("name"))


def controller_ref(pod):
    """The owner reference with ``controller: true``, or None."""
    for owner in (pod.get("metadata") or {}).get("ownerReferences") or []:
        if owner.get("controller"):
            return owner
    return None


def is_finished(pod):
    """Whether the pod has Succeeded or Failed (nothing left to disrupt)."""
    return (pod.get("status") or {}).get("phase") in ("Succeeded", "Failed")


def has_local_storage(pod):
    """Whether the pod mounts an emptyDir volume (data lost when the pod goes)."""
    return any("emptyDir" in volume for volume in (pod.get("spec") or {}).get("volumes") or [])


def parse_timestamp(value):
    """Parse an RFC 3339 timestamp of the API (``2024-01-02T03:04:05Z``) to an aware datetime."""
    if not value:
        return None
    if isinstance(value, datetime.datetime):
        return value if value.tzinfo else value.replace(tzinfo=UTC)
    text = value.strip()
    if text.endswith("Z") or text.endswith("z"):
        text = text[:-1] + "+00:00"
    if "." in text:
        head, rest = text.split(".", 1)
        digits = re.match(r"^[0-9]+", rest).group(0)
        text = "%s.%s%s" % (head, (digits + "000000")[:6], rest[len(digits):])
    return datetime.datetime.fromisoformat(text)


def deleting_for(pod, now):
    """Seconds since the pod's deletionTimestamp, or None when it is not being deleted."""
    stamp = parse_timestamp((pod.get("metadata") or {}).get("deletionTimestamp"))
    if stamp is None:
        return None
    return (now - stamp).total_seconds()


# --------------------------------------------------------------------------
# The filter chain
# --------------------------------------------------------------------------

EVICT = "evict"
SKIP = "skip"
REFUSE = "refuse"

# Refusal messages, grouped like kubectl does: "cannot delete <what> (<how to override>): pods".
REFUSE_DAEMONSET = ("DaemonSet-managed Pods", "ignore_daemonsets", "use ignore_daemonsets to ignore")
REFUSE_ORPHANED_DAEMONSET = ("Pods of a DaemonSet that no longer exists", "force", "use force to override")
REFUSE_LOCAL_STORAGE = ("Pods with local storage", "delete_emptydir_data", "use delete_emptydir_data to override")
REFUSE_UNMANAGED = ("Pods that declare no controller", "force", "use force to override")

WARN_DAEMONSET = "ignoring DaemonSet-managed Pods"
WARN_ORPHANED_DAEMONSET = "deleting Pods whose DaemonSet no longer exists"
WARN_LOCAL_STORAGE = "deleting Pods with local storage"
WARN_UNMANAGED = "deleting Pods that declare no controller"

SKIP_MIRROR = "mirror Pod (static Pod managed by the kubelet)"
SKIP_DELETING = "deletion started more than %s seconds ago (skip_wait_for_delete_timeout)"


class PodDecision(object):
    """What the filter chain decided for one pod."""

    def __init__(self, pod, action=EVICT, reason=None, override=None, warnings=()):
        self.pod = pod
        self.action = action
        self.reason = reason
        self.override = override
        self.warnings = list(warnings)

    @property
    def namespace(self):
        return (self.pod.get("metadata") or {}).get("namespace")

    @property
    def name(self):
        return (self.pod.get("metadata") or {}).get("name")

    @property
    def uid(self):
        return (self.pod.get("metadata") or {}).get("uid")

    def __repr__(self):
        return "PodDecision(%s, %s, %r)" % (pod_ref(self.pod), self.action, self.reason)


class FilterOptions(object):
    """The drain options the filters depend on."""

    def __init__(self, ignore_daemonsets=False, delete_emptydir_data=False, force=False,
                 skip_wait_for_delete_timeout=0):
        self.ignore_daemonsets = ignore_daemonsets
        self.delete_emptydir_data = delete_emptydir_data
        self.force = force
        self.skip_wait_for_delete_timeout = skip_wait_for_delete_timeout or 0


def _ok():
    return (EVICT, None, None, None)


def filter_deleting(pod, options, daemonset_exists, now):
    """Skip pods whose deletion started more than skip_wait_for_delete_timeout seconds ago.

    Pods that are being deleted are otherwise evicted again and waited for,
    exactly like kubectl does.
    """
    limit = options.skip_wait_for_delete_timeout
    if limit > 0:
        age = deleting_for(pod, now)
        if age is not None and int(age) > limit:
            return (SKIP, SKIP_DELETING % limit, None, None)
    return _ok()


def filter_daemonset(pod, options, daemonset_exists, now):
    """DaemonSet pods: refused, or skipped with ``ignore_daemonsets``; orphans need ``force``."""
    owner = controller_ref(pod)
    if owner is None or owner.get("kind") != "DaemonSet" or owner.get("apiVersion") != "apps/v1":
        return _ok()
    if is_finished(pod):
        return _ok()
    namespace = (pod.get("metadata") or {}).get("namespace")
    if not daemonset_exists(namespace, owner.get("name")):
        if options.force:
            return (EVICT, None, None, WARN_ORPHANED_DAEMONSET)
        return (REFUSE,) + REFUSE_ORPHANED_DAEMONSET[:2] + (None,)
    if not options.ignore_daemonsets:
        return (REFUSE,) + REFUSE_DAEMONSET[:2] + (None,)
    return (SKIP, "DaemonSet-managed Pod (ignore_daemonsets)", None, WARN_DAEMONSET)


def filter_mirror(pod, options, daemonset_exists, now):
    """Mirror pods of static pods cannot be deleted through the API: skipped."""
    if MIRROR_POD_ANNOTATION in ((pod.get("metadata") or {}).get("annotations") or {}):
        return (SKIP, SKIP_MIRROR, None, None)
    return _ok()


def filter_local_storage(pod, options, daemonset_exists, now):
    """Pods with emptyDir volumes lose their data: refused unless ``delete_emptydir_data``."""
    if not has_local_storage(pod) or is_finished(pod):
        return _ok()
    if not options.delete_emptydir_data:
        return (REFUSE,) + REFUSE_LOCAL_STORAGE[:2] + (None,)
    return (EVICT, None, None, WARN_LOCAL_STORAGE)


def filter_unreplicated(pod, options, daemonset_exists, now):
    """Pods without a controller are not recreated anywhere: refused unless ``force``."""
    if is_finished(pod) or controller_ref(pod) is not None:
        return _ok()
    if options.force:
        return (EVICT, None, None, WARN_UNMANAGED)
    return (REFUSE,) + REFUSE_UNMANAGED[:2] + (None,)


FILTERS = (filter_deleting, filter_daemonset, filter_mirror, filter_local_storage, filter_unreplicated)

_OVERRIDE_HINTS = dict((entry[0], entry[2]) for entry in (
    REFUSE_DAEMONSET, REFUSE_ORPHANED_DAEMONSET, REFUSE_LOCAL_STORAGE, REFUSE_UNMANAGED))


def decide(pod, options, daemonset_exists, now=None, filters=FILTERS):
    """Run the filter chain on one pod; the first filter that does not evict decides."""
    now = now or datetime.datetime.now(UTC)
    warnings = []
    for pod_filter in filters:
        action, reason, override, warning = pod_filter(pod, options, daemonset_exists, now)
        if warning:
            warnings.append(warning)
        if action != EVICT:
            return PodDecision(pod, action, reason, override, warnings)
    return PodDecision(pod, EVICT, None, None, warnings)


def decide_all(pods, options, daemonset_exists, now=None, filters=FILTERS):
    """Run the filter chain on every pod; DaemonSets are looked up once each."""
    cache = {}

    def cached_exists(namespace, name):
        key = (namespace, name)
        if key not in cache:
            cache[key] = daemonset_exists(namespace, name)
        return cache[key]

    now = now or datetime.datetime.now(UTC)
    return [decide(pod, options, cached_exists, now, filters) for pod in pods]


def _grouped(decisions, key):
    groups = []
    index = {}
    for decision in decisions:
        group = key(decision)
        if group is None:
            continue
        if group not in index:
            index[group] = len(groups)
            groups.append((group, []))
        groups[index[group]][1].append("%s/%s" % (decision.namespace, decision.name))
    return groups


def refusal_message(decisions):
    """kubectl-style message for refused pods, or None: ``cannot delete X (use opt to ...): ns/a, ns/b``."""
    refused = [d for d in decisions if d.action == REFUSE]
    if not refused:
        return None
    parts = []
    for reason, pods in _grouped(refused, lambda d: d.reason):
        hint = _OVERRIDE_HINTS.get(reason)
        what = "%s (%s)" % (reason, hint) if hint else reason
        parts.append("cannot delete %s: %s" % (what, ", ".join(pods)))
    return "; ".join(parts)


def warning_messages(decisions):
    """kubectl-style warnings, one per kind: ``ignoring DaemonSet-managed Pods: ns/a, ns/b``."""
    messages = []
    pairs = []
    for decision in decisions:
        for warning in decision.warnings:
            pairs.append((warning, decision))
    order = []
    grouped = {}
    for warning, decision in pairs:
        if warning not in grouped:
            grouped[warning] = []
            order.append(warning)
        grouped[warning].append("%s/%s" % (decision.namespace, decision.name))
    for warning in order:
        messages.append("%s: %s" % (warning, ", ".join(grouped[warning])))
    return messages
