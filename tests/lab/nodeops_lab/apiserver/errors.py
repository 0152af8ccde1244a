"""Kubernetes ``Status`` errors as returned by the simulated API server."""


class APIError(Exception):
    """An error answered to the client as a ``Status`` object."""

    def __init__(self, code, reason, message, details=None, headers=None):
        super().__init__(message)
        self.code = code
        self.reason = reason
        self.message = message
        self.details = details
        self.headers = headers or {}

    def status(self):
        body = {
            "kind": "Status",
            "apiVersion": "v1",
            "metadata": {},
            "status": "Failure",
            "message": self.message,
            "reason": self.reason,
            "code": self.code,
        }
        if self.details is not None:
            body["details"] = self.details
        return body


def _details(rt, name, kind=None, **extra):
    details = {}
    if name:
        details["name"] = name
    if rt is not None and rt.group:
        details["group"] = rt.group
    details["kind"] = kind or (rt.plural if rt is not None else "")
    details.update(extra)
    return details


def not_found(rt, name):
    return APIError(404, "NotFound", '%s "%s" not found' % (rt.qualified, name), _details(rt, name))


def namespace_not_found(name):
    return APIError(404, "NotFound", 'namespaces "%s" not found' % name,
                    {"name": name, "kind": "namespaces"})


def already_exists(rt, name):
    return APIError(409, "AlreadyExists", '%s "%s" already exists' % (rt.qualified, name),
                    _details(rt, name))


def conflict(rt, name, why=None):
    why = why or "the object has been modified; please apply your changes to the latest version and try again"
    return APIError(409, "Conflict",
                    'Operation cannot be fulfilled on %s "%s": %s' % (rt.qualified, name, why),
                    _details(rt, name))


def precondition_failed(rt, name, why):
    return APIError(409, "Conflict", "Precondition failed: %s" % why, _details(rt, name))


def bad_request(message):
    return APIError(400, "BadRequest", message)


def method_not_allowed(message="the server does not allow this method on the requested resource"):
    return APIError(405, "MethodNotAllowed", message)


def unauthorized():
    return APIError(401, "Unauthorized", "Unauthorized")


def forbidden(rt, name, message):
    return APIError(403, "Forbidden", message, _details(rt, name))


def unsupported_media_type(content_type):
    return APIError(415, "UnsupportedMediaType",
                    'the body of the request was in an unknown format - accepted media types include: '
                    'application/json, application/yaml, application/vnd.kubernetes.protobuf'
                    if not content_type else
                    'the server does not support the media type "%s"' % content_type)


def internal(message):
    return APIError(500, "InternalError", "Internal error occurred: %s" % message,
                    {"causes": [{"message": message}]})


def gone(message):
    return APIError(410, "Expired", message)


class FieldError:
    """One validation error, rendered like apimachinery's field.Error."""

    def __init__(self, field, kind, detail="", value=None, has_value=False):
        self.field = field
        self.kind = kind  # Required, Invalid, Forbidden, Duplicate, Unsupported
        self.detail = detail
        self.value = value
        self.has_value = has_value

    REASONS = {
        "Required": ("FieldValueRequired", "Required value"),
        "Invalid": ("FieldValueInvalid", "Invalid value"),
        "Forbidden": ("FieldValueForbidden", "Forbidden"),
        "Duplicate": ("FieldValueDuplicate", "Duplicate value"),
        "Unsupported": ("FieldValueNotSupported", "Unsupported value"),
    }

    def body(self):
        label = self.REASONS[self.kind][1]
        text = label
        if self.has_value:
            val = self.value
            if isinstance(val, str):
                val = '"%s"' % val
            text += ": %s" % (val,)
        if self.detail:
            text += ": %s" % self.detail
        return text

    def __str__(self):
        return "%s: %s" % (self.field, self.body())


def invalid(rt, name, errors):
    if len(errors) == 1:
        summary = str(errors[0])
    else:
        summary = "[" + ", ".join(str(err) for err in errors) + "]"
    message = '%s "%s" is invalid: %s' % (rt.kind, name, summary)
    causes = [
        {"reason": FieldError.REASONS[err.kind][0], "message": err.body(), "field": err.field}
        for err in errors
    ]
    return APIError(422, "Invalid", message, _details(rt, name, kind=rt.kind, causes=causes))


def too_many_requests(message, causes=None):
    details = {}
    if causes:
        details["causes"] = causes
    return APIError(429, "TooManyRequests", message, details)
