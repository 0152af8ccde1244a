"""Label and field selectors, parsed with the same grammar as apimachinery."""

import re

from .errors import bad_request

_KEY = re.compile(r"^([a-zA-Z0-9]([-a-zA-Z0-9_.]*[a-zA-Z0-9])?/)?[a-zA-Z0-9]([-a-zA-Z0-9_.]*[a-zA-Z0-9])?$")


class LabelRequirement:
    def __init__(self, key, op, values=()):
        self.key = key
        self.op = op  # =, !=, in, notin, exists, !
        self.values = set(values)

    def matches(self, labels):
        present = self.key in labels
        value = labels.get(self.key)
        if self.op in ("=", "=="):
            return present and value in self.values
        if self.op == "!=":
            return not present or value not in self.values
        if self.op == "in":
            return present and value in self.values
        if self.op == "notin":
            return not present or value not in self.values
        if self.op == "exists":
            return present
        if self.op == "!":
            return not present
        if self.op in ("gt", "lt"):
            if not present:
                return False
            try:
                left = int(value)
                right = int(next(iter(self.values)))
            except (TypeError, ValueError):
                return False
            return left > right if self.op == "gt" else left < right
        return False


class LabelSelector:
    """A parsed label selector; an empty selector matches everything."""

    def __init__(self, requirements=(), match_nothing=False):
        self.requirements = list(requirements)
        self.match_nothing = match_nothing

    def matches(self, labels):
        if self.match_nothing:
            return False
        labels = labels or {}
        return all(req.matches(labels) for req in self.requirements)

    def empty(self):
        return not self.requirements and not self.match_nothing


def _tokenize(text):
    tokens = []
    i = 0
    while i < len(text):
        ch = text[i]
        if ch.isspace():
            i += 1
            continue
        if ch in "(),":
            tokens.append(ch)
            i += 1
            continue
        if text.startswith("==", i) or text.startswith("!=", i):
            tokens.append(text[i:i + 2])
            i += 2
            continue
        if ch in "=!":
            tokens.append(ch)
            i += 1
            continue
        j = i
        while j < len(text) and not text[j].isspace() and text[j] not in "(),=!":
            j += 1
        tokens.append(text[i:j])
        i = j
    return tokens


def parse_label_selector(text):
    """Parse ``a=b,c!=d,e in (x,y),f notin (z),g,!h``; raise 400 on errors."""
    text = (text or "").strip()
    if not text:
        return LabelSelector()
    tokens = _tokenize(text)
    reqs = []
    pos = 0

    def fail(why):
        raise bad_request('unable to parse requirement: %s' % why)

    def check_key(key):
        if not key or not _KEY.match(key) or len(key.split("/")[-1]) > 63:
            fail('<nil>: Invalid value: "%s": name part must consist of alphanumeric characters, '
                 "'-', '_' or '.', and must start and end with an alphanumeric character" % key)

    while pos < len(tokens):
        tok = tokens[pos]
        if tok == "!":
            pos += 1
            if pos >= len(tokens):
                fail("found '', expected: identifier")
            check_key(tokens[pos])
            reqs.append(LabelRequirement(tokens[pos], "!"))
            pos += 1
        else:
            key = tok
            check_key(key)
            pos += 1
            if pos >= len(tokens) or tokens[pos] == ",":
                reqs.append(LabelRequirement(key, "exists"))
            else:
                op = tokens[pos]
                pos += 1
                if op in ("=", "==", "!="):
                    value = ""
                    if pos < len(tokens) and tokens[pos] != ",":
                        value = tokens[pos]
                        pos += 1
                    reqs.append(LabelRequirement(key, op, [value]))
                elif op in ("in", "notin"):
                    if pos >= len(tokens) or tokens[pos] != "(":
                        fail("found '%s', expected: '('" % (tokens[pos] if pos < len(tokens) else ""))
                    pos += 1
                    values = []
                    while pos < len(tokens) and tokens[pos] != ")":
                        if tokens[pos] != ",":
                            values.append(tokens[pos])
                        pos += 1
                    if pos >= len(tokens):
                        fail("found '', expected: ')'")
                    pos += 1
                    reqs.append(LabelRequirement(key, op, values))
                else:
                    fail("found '%s', expected: in, notin, =, ==, !=, gt, lt" % op)
        if pos < len(tokens):
            if tokens[pos] != ",":
                fail("found '%s', expected: ',' or 'end of string'" % tokens[pos])
            pos += 1
    return LabelSelector(reqs)


def selector_from_label_selector(spec):
    """Convert a metav1.LabelSelector dict; ``None`` selects nothing."""
    if spec is None:
        return LabelSelector(match_nothing=True)
    reqs = []
    for key, value in (spec.get("matchLabels") or {}).items():
        reqs.append(LabelRequirement(key, "=", [value]))
    for expr in spec.get("matchExpressions") or []:
        op = {"In": "in", "NotIn": "notin", "Exists": "exists", "DoesNotExist": "!"}.get(expr.get("operator"))
        if op is None:
            return LabelSelector(match_nothing=True)
        reqs.append(LabelRequirement(expr.get("key"), op, expr.get("values") or []))
    return LabelSelector(reqs)


def selector_string(spec):
    """Render a metav1.LabelSelector as kubectl prints it (``a=b,c in (d)``)."""
    if spec is None:
        return "<none>"
    parts = []
    for key, value in sorted((spec.get("matchLabels") or {}).items()):
        parts.append("%s=%s" % (key, value))
    for expr in spec.get("matchExpressions") or []:
        op = expr.get("operator")
        vals = ",".join(sorted(expr.get("values") or []))
        if op == "In":
            parts.append("%s in (%s)" % (expr.get("key"), vals))
        elif op == "NotIn":
            parts.append("%s notin (%s)" % (expr.get("key"), vals))
        elif op == "Exists":
            parts.append(expr.get("key"))
        elif op == "DoesNotExist":
            parts.append("!" + expr.get("key"))
    return ",".join(parts) if parts else "<none>"


class FieldSelector:
    def __init__(self, terms=()):
        self.terms = list(terms)  # (field, op, value)

    def matches(self, fields):
        for field, op, value in self.terms:
            actual = fields.get(field, "")
            if op == "=" and actual != value:
                return False
            if op == "!=" and actual == value:
                return False
        return True

    def fields(self):
        return {term[0] for term in self.terms}


def parse_field_selector(text):
    text = (text or "").strip()
    if not text:
        return FieldSelector()
    terms = []
    for part in text.split(","):
        part = part.strip()
        if not part:
            continue
        for op in ("!=", "==", "="):
            if op in part:
                field, value = part.split(op, 1)
                terms.append((field.strip(), "=" if op == "==" else op, value.strip()))
                break
        else:
            raise bad_request('invalid selector: \'%s\'; can\'t understand \'%s\'' % (text, part))
    return FieldSelector(terms)
