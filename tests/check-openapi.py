#!/usr/bin/python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""Checks reachcelld's OpenAPI document and validates real responses against it.

  check-openapi.py lint     data/openapi.json
  check-openapi.py validate data/openapi.json METHOD PATH STATUS BODY_FILE
  check-openapi.py selftest data/openapi.json

lint      structural checks: valid JSON, OpenAPI 3.0.x, every local $ref resolves, every
          operation has a unique operationId, path parameters are declared, every operation that
          needs the API key lists 401 (and the public ones do not), every response has a
          description, every JSON error response limits error.code with an enum, every schema
          converts to a valid Draft 4 JSON Schema.
validate  validates the response body in BODY_FILE ("-" for standard input) against the schema
          documented for METHOD PATH STATUS. PATH is a template such as /v1/calls/{call_id} or a
          concrete path such as /v1/calls/0b6c…; a query string is ignored. A response documented
          without content must have an empty body. A response documented only as text (e.g.
          "text/plain; version=0.0.4" for GET /metrics) is validated as one string.
selftest  validates hand-written valid and invalid bodies and asserts the verdicts, also of the
          webhook payload schema (components/schemas/WebhookEvent) that reachcelld sends.

Exit status: 0 valid / all checks passed, 1 invalid / a check failed, 2 usage or input error.

Uses only the standard library and Debian's python3-jsonschema (Draft4Validator). OpenAPI 3.0
schema objects are converted first: $ref inlined, "nullable: true" turned into a type list with
"null" (and null added to an enum), OpenAPI-only keywords dropped.
"""

import copy
import json
import re
import sys

try:
    import jsonschema
except ImportError:  # pragma: no cover
    sys.stderr.write("check-openapi: python3-jsonschema is required (apt-get install python3-jsonschema)\n")
    sys.exit(2)

METHODS = ("get", "put", "post", "delete", "options", "head", "patch", "trace")
OPENAPI_ONLY = ("nullable", "discriminator", "readOnly", "writeOnly", "xml", "externalDocs",
                "example", "examples", "deprecated")


class UsageError(Exception):
    pass


# --- loading and references --------------------------------------------------------------------

def load_document(path):
    try:
        with open(path, encoding="utf-8") as f:
            return json.load(f)
    except OSError as e:
        raise UsageError("cannot read %s: %s" % (path, e.strerror))
    except ValueError as e:
        raise UsageError("%s is not valid JSON: %s" % (path, e))


def resolve_pointer(doc, ref):
    """The object a local reference ("#/a/b") points to; KeyError if it does not resolve."""
    if not isinstance(ref, str) or not ref.startswith("#/"):
        raise KeyError("only local references (#/…) are supported: %r" % (ref,))
    node = doc
    for part in ref[2:].split("/"):
        part = part.replace("~1", "/").replace("~0", "~")
        if isinstance(node, dict) and part in node:
            node = node[part]
        elif isinstance(node, list) and part.isdigit() and int(part) < len(node):
            node = node[int(part)]
        else:
            raise KeyError(ref)
    return node


def deref(doc, node):
    """Follows $ref chains of a non-schema object (parameter, response, header)."""
    seen = set()
    while isinstance(node, dict) and "$ref" in node:
        if node["$ref"] in seen:
            raise KeyError("reference loop at %s" % node["$ref"])
        seen.add(node["$ref"])
        node = resolve_pointer(doc, node["$ref"])
    return node


def walk_refs(node, where="#"):
    if isinstance(node, dict):
        if "$ref" in node:
            yield where, node["$ref"]
        for key, value in node.items():
            yield from walk_refs(value, where + "/" + str(key).replace("~", "~0").replace("/", "~1"))
    elif isinstance(node, list):
        for i, value in enumerate(node):
            yield from walk_refs(value, "%s/%d" % (where, i))


# --- OpenAPI 3.0 schema → Draft 4 --------------------------------------------------------------

def to_draft4(doc, schema, stack=()):
    """A Draft 4 JSON Schema equivalent of an OpenAPI 3.0 schema object."""
    if isinstance(schema, list):
        return [to_draft4(doc, s, stack) for s in schema]
    if not isinstance(schema, dict):
        return schema
    if "$ref" in schema:
        ref = schema["$ref"]
        if ref in stack:
            raise ValueError("recursive schema reference %s is not supported" % ref)
        return to_draft4(doc, resolve_pointer(doc, ref), stack + (ref,))

    out = {}
    for key, value in schema.items():
        if key in OPENAPI_ONLY:
            continue
        if key in ("properties", "patternProperties", "definitions"):
            out[key] = {name: to_draft4(doc, sub, stack) for name, sub in value.items()}
        elif key in ("items", "additionalProperties", "not", "allOf", "anyOf", "oneOf"):
            out[key] = to_draft4(doc, value, stack)
        else:
            out[key] = copy.deepcopy(value)

    if schema.get("nullable") is True:
        if "type" in out:
            types = out["type"] if isinstance(out["type"], list) else [out["type"]]
            if "null" not in types:
                types = types + ["null"]
            out["type"] = types
            if "enum" in out and None not in out["enum"]:
                out["enum"] = out["enum"] + [None]
        else:
            out = {"anyOf": [{"type": "null"}, out]}
    return out


def validator_for(doc, schema):
    converted = to_draft4(doc, schema)
    jsonschema.Draft4Validator.check_schema(converted)
    return jsonschema.Draft4Validator(converted)


def all_schema_objects(doc):
    """(where, schema object) for every schema the document uses."""
    for name, schema in doc.get("components", {}).get("schemas", {}).items():
        yield "#/components/schemas/" + name, schema
    for path, item in doc.get("paths", {}).items():
        for method in METHODS:
            op = item.get(method)
            if not isinstance(op, dict):
                continue
            where = "%s %s" % (method.upper(), path)
            body = deref(doc, op.get("requestBody", {}))
            for media, content in body.get("content", {}).items():
                if "schema" in content:
                    yield where + " request " + media, content["schema"]
            for status, response in op.get("responses", {}).items():
                response = deref(doc, response)
                for media, content in response.get("content", {}).items():
                    if "schema" in content:
                        yield "%s %s %s" % (where, status, media), content["schema"]


# --- lint --------------------------------------------------------------------------------------

def effective_security(doc, op):
    return op["security"] if "security" in op else doc.get("security", [])


def lint(doc):
    problems = []

    version = doc.get("openapi")
    if not isinstance(version, str) or not re.match(r"^3\.0\.\d+$", version):
        problems.append("openapi must be 3.0.x, not %r" % (version,))
    info = doc.get("info", {})
    for key in ("title", "version"):
        if not info.get(key):
            problems.append("info.%s is missing" % key)
    if not doc.get("paths"):
        problems.append("no paths")

    for where, ref in walk_refs(doc):
        try:
            resolve_pointer(doc, ref)
        except KeyError:
            problems.append("%s: $ref %s does not resolve" % (where, ref))
    if problems:
        return problems  # the checks below follow references

    schemes = doc.get("components", {}).get("securitySchemes", {})
    for requirement in doc.get("security", []):
        for name in requirement:
            if name not in schemes:
                problems.append("security scheme %s is not defined" % name)

    operation_ids = {}
    for path, item in doc.get("paths", {}).items():
        if not path.startswith("/"):
            problems.append("path %s does not start with /" % path)
        template_params = set(re.findall(r"\{([^}/]+)\}", path))
        operations = [m for m in METHODS if m in item]
        if not operations:
            problems.append("%s has no operations" % path)
        for method in operations:
            op = item[method]
            where = "%s %s" % (method.upper(), path)
            op_id = op.get("operationId")
            if not op_id:
                problems.append("%s has no operationId" % where)
            elif op_id in operation_ids:
                problems.append("%s: operationId %s is also used by %s" % (where, op_id, operation_ids[op_id]))
            else:
                operation_ids[op_id] = where

            params = [deref(doc, p) for p in item.get("parameters", []) + op.get("parameters", [])]
            declared = {p.get("name") for p in params if p.get("in") == "path"}
            for name in template_params - declared:
                problems.append("%s: path parameter {%s} is not declared" % (where, name))
            for name in declared - template_params:
                problems.append("%s: path parameter %s is not in the path" % (where, name))
            for p in params:
                if p.get("in") == "path" and p.get("required") is not True:
                    problems.append("%s: path parameter %s must be required" % (where, p.get("name")))
                if "schema" not in p and "content" not in p:
                    problems.append("%s: parameter %s has no schema" % (where, p.get("name")))

            responses = op.get("responses", {})
            if not responses:
                problems.append("%s has no responses" % where)
            if not any(str(s).startswith("2") for s in responses):
                problems.append("%s documents no 2xx response" % where)
            security = effective_security(doc, op)
            needs_auth = any(len(requirement) > 0 for requirement in security) and {} not in security
            for requirement in security:
                for name in requirement:
                    if name not in schemes:
                        problems.append("%s: security scheme %s is not defined" % (where, name))
            if needs_auth and "401" not in responses:
                problems.append("%s needs the API key but does not list 401" % where)
            if not needs_auth and "401" in responses:
                problems.append("%s is public but lists 401" % where)

            for status, response in responses.items():
                response = deref(doc, response)
                rwhere = "%s %s" % (where, status)
                if not re.match(r"^([1-5][0-9][0-9]|[1-5]XX|default)$", str(status)):
                    problems.append("%s: bad status key" % rwhere)
                if not response.get("description"):
                    problems.append("%s has no description" % rwhere)
                for name, header in response.get("headers", {}).items():
                    if "schema" not in deref(doc, header):
                        problems.append("%s: header %s has no schema" % (rwhere, name))
                content = response.get("content", {})
                for media, entry in content.items():
                    if "schema" not in entry:
                        problems.append("%s %s has no schema" % (rwhere, media))
                if str(status)[0] in "45" and "application/json" in content:
                    schema = to_draft4(doc, content["application/json"].get("schema", {}))
                    error = schema.get("properties", {}).get("error")
                    code = (error or {}).get("properties", {}).get("code", {})
                    if error is not None and not code.get("enum"):
                        problems.append("%s: error.code has no enum" % rwhere)
                    if error is None and "success" not in schema.get("properties", {}):
                        problems.append("%s: neither the error nor the success envelope" % rwhere)
                if str(status) != "413" and str(status) != "204" and not content:
                    problems.append("%s has no content" % rwhere)

    for where, schema in all_schema_objects(doc):
        try:
            converted = to_draft4(doc, schema)
            jsonschema.Draft4Validator.check_schema(converted)
        except (ValueError, KeyError, jsonschema.exceptions.SchemaError) as e:
            problems.append("%s: not a usable schema: %s" % (where, getattr(e, "message", e)))
            continue
        for sub_where, sub in schema_nodes(converted, where):
            if isinstance(sub, dict) and isinstance(sub.get("required"), list) \
                    and sub.get("additionalProperties") is False:
                missing = [n for n in sub["required"] if n not in sub.get("properties", {})]
                if missing:
                    problems.append("%s: required %s not among its properties" % (sub_where, missing))
    return problems


def schema_nodes(schema, where):
    yield where, schema
    if isinstance(schema, dict):
        for key in ("properties", "patternProperties"):
            for name, sub in schema.get(key, {}).items():
                yield from schema_nodes(sub, "%s.%s" % (where, name))
        for key in ("items", "additionalProperties", "not"):
            if isinstance(schema.get(key), dict):
                yield from schema_nodes(schema[key], "%s[%s]" % (where, key))
        for key in ("allOf", "anyOf", "oneOf"):
            for i, sub in enumerate(schema.get(key, [])):
                yield from schema_nodes(sub, "%s.%s[%d]" % (where, key, i))


# --- validate ----------------------------------------------------------------------------------

def template_matches(template, path):
    regex = "^" + re.sub(r"\\\{[^/]+?\\\}", "[^/]+", re.escape(template)) + "$"
    return template == path or re.match(regex, path) is not None


def find_operation(doc, method, path, any_method=False):
    """(template, operation) for METHOD and a template or concrete path. With @any_method, an
    operation of another method on the same path will do (for 405 answers)."""
    method = method.lower()
    path = path.split("?", 1)[0]
    if method not in METHODS:
        raise UsageError("unknown method %s" % method.upper())
    paths = doc.get("paths", {})
    # Literal segments beat parameters ("/v1/calls/dial" before "/v1/calls/{call_id}").
    candidates = []
    for template, item in paths.items():
        if (method in item or any_method) and template_matches(template, path):
            literal = sum(1 for seg in template.split("/") if seg and not seg.startswith("{"))
            candidates.append((template == path, literal, template))
    if not candidates:
        known = ", ".join("%s %s" % (m.upper(), p) for p, item in paths.items() for m in METHODS if m in item)
        raise UsageError("no documented operation %s %s (documented: %s)" % (method.upper(), path, known))
    template = max(candidates)[2]
    item = paths[template]
    if method in item:
        return template, item[method]
    return template, item[next(m for m in METHODS if m in item)]


def validate_body(doc, method, path, status, body_text):
    """A list of problems (empty when valid). Raises UsageError for unknown operations.
    A 405 answer to a method the path does not document is checked against the path's
    documented 405 response."""
    template, op = find_operation(doc, method, path, any_method=str(status) == "405")
    where = "%s %s %s" % (method.upper(), template, status)
    responses = op.get("responses", {})
    status = str(status)
    response = responses.get(status) or responses.get(status[0] + "XX") or responses.get("default")
    if response is None:
        return ["%s: status %s is not documented for %s %s (documented: %s)"
                % (where, status, method.upper(), template, ", ".join(sorted(responses)))]
    response = deref(doc, response)
    content = response.get("content", {})
    if not content:
        if body_text.strip():
            return ["%s: documented without a body, but the body is %r" % (where, body_text[:200])]
        return []
    if "application/json" not in content:
        text_media = [m for m in content if m.split(";")[0].strip().lower().startswith("text/")]
        if not text_media:
            return ["%s: no application/json content documented" % where]
        validator = validator_for(doc, content[text_media[0]].get("schema", {}))
        return ["%s: body: %s" % (where, error.message) for error in validator.iter_errors(body_text)]
    try:
        body = json.loads(body_text)
    except ValueError as e:
        return ["%s: the body is not valid JSON: %s" % (where, e)]
    validator = validator_for(doc, content["application/json"]["schema"])
    problems = []
    for error in sorted(validator.iter_errors(body), key=lambda e: list(e.absolute_path)):
        location = "".join("[%s]" % json.dumps(p) for p in error.absolute_path) or "(root)"
        problems.append("%s: body%s: %s" % (where, location, error.message))
    return problems


# --- selftest ----------------------------------------------------------------------------------

CALL = {
    "call_id": "b4e2f7a1-83fe-4aed-b7ef-471f2efc95a9",
    "from": "+14155552671",
    "to": "+14155553000",
    "direction": "outbound",
    "status": "initiating",
    "initiated_at": "2026-06-08T13:30:06Z",
    "ringing_at": None,
    "connected_at": None,
    "ended_at": None,
    "duration_seconds": None,
    "cost_usd": None,
    "created_at": "2026-06-08T13:30:06Z",
    "end_reason": None,
    "client_reference": None,
    "sim": {"modem": "358240051111110", "slot": 1},
}

ENDED = dict(CALL, status="ended", ringing_at="2026-06-08T13:30:08Z",
             connected_at="2026-06-08T13:30:12Z", ended_at="2026-06-08T13:31:15Z",
             duration_seconds=63, cost_usd=0.04, end_reason="local_hangup",
             client_reference="order-1234")

MISSED_WITHHELD = dict(CALL, direction="inbound", **{"from": None}, to="+4915790000001",
                       status="missed", ringing_at="2026-06-08T13:30:06Z",
                       ended_at="2026-06-08T13:30:30Z", end_reason="remote_hangup",
                       sim={"modem": "358240051111110", "slot": 2})

NUMBER = {"number": "+4915112345678", "state": "offline", "provisioned_by": "configuration",
          "modem": None, "sim": {"slot": 2, "iccid": None, "imsi": None, "active": False}}
NUMBER_ONLINE = {"number": "+4915790000001", "state": "available", "provisioned_by": "sim",
                 "modem": {"equipment_id": "358240051111110", "manufacturer": "Reachcell",
                           "model": "SimModem 1", "state": "registered", "signal_quality": 75,
                           "operator": "Sim Telekom"},
                 "sim": {"slot": 1, "iccid": "89490200001234567890", "imsi": "262011234567890",
                         "active": True}}
HEALTH = {"status": "ok", "version": "0.1.0", "modemmanager": "absent", "modems": 0,
          "numbers_available": 0, "open_calls": 0, "database": "ok", "webhook_backlog": 0}


def ok(data, **extra):
    return dict({"success": True, "data": data}, **extra)


def err(code, message="a human sentence", field=None):
    error = {"code": code, "message": message}
    if field is not None:
        error["field"] = field
    return {"success": False, "error": error}


def drop(obj, key):
    obj = copy.deepcopy(obj)
    del obj[key]
    return obj


META = {"total": 2, "page": 1, "per_page": 20, "total_pages": 1}

WEBHOOK = {"id": "wh_has6sdbd8p2zr24pkk89mzd8ew", "url": "https://example.com/hooks/reachcell",
           "events": "call.*", "description": None, "enabled": True, "disabled_reason": None,
           "failing_since": None, "created_at": "2026-06-08T13:30:06Z",
           "updated_at": "2026-06-08T13:30:06Z"}
WEBHOOK_NEW = dict(WEBHOOK, secret="whsec_G9d9uj3DI84wT+dC2UabrrlisPZMzl4GFnpZEhMyA24=")
WEBHOOK_GONE = dict(WEBHOOK, events=["call.missed", "call.ended"], description="CRM", enabled=False,
                    disabled_reason="the endpoint answered 410 Gone",
                    failing_since="2026-06-08T13:31:00Z", updated_at="2026-06-08T13:32:00Z")
DELIVERY_TEST = {"id": "dlv_axp9dqth5mrfbf8h1whajsgzbr", "webhook_id": "wh_has6sdbd8p2zr24pkk89mzd8ew",
                 "event_id": "evt_jf3j77ddaxadyn9w7wy71bdxar", "event_type": "webhook.test",
                 "call_id": None, "sequence": None, "status": "pending",
                 "next_attempt_at": "2026-06-08T13:30:06Z", "created_at": "2026-06-08T13:30:06Z",
                 "updated_at": "2026-06-08T13:30:06Z", "attempts": []}
DELIVERY_CALL = dict(DELIVERY_TEST, id="dlv_0123456789abcdef0123456789", event_type="call.missed",
                     call_id=CALL["call_id"], sequence=3, status="failed", next_attempt_at=None,
                     attempts=[{"attempted_at": "2026-06-08T13:30:06Z", "http_status": None,
                                "error": "connection_refused", "duration_ms": 5},
                               {"attempted_at": "2026-06-08T13:30:11Z", "http_status": 302,
                                "error": "redirect", "duration_ms": 12},
                               {"attempted_at": "2026-06-08T13:35:11Z", "http_status": 200,
                                "error": None, "duration_ms": 40},
                               {"attempted_at": "2026-06-08T14:05:11Z", "http_status": 410,
                                "error": "http_status", "duration_ms": 9}])
METRICS = ("# HELP reachcelld_calls Calls stored, by status.\n# TYPE reachcelld_calls gauge\n"
           "reachcelld_calls{status=\"initiating\"} 0\n")

# (expected valid?, method, path, status, body: object, or a string sent as is)
SAMPLES = [
    (True, "POST", "/v1/calls/dial", 202, ok(CALL)),
    (True, "POST", "/v1/calls/dial", 202, ok(dict(CALL, client_reference="x" * 128))),
    (False, "POST", "/v1/calls/dial", 202, ok(dict(CALL, client_reference="x" * 129))),
    (False, "POST", "/v1/calls/dial", 202, ok(dict(CALL, status="answering"))),
    (False, "POST", "/v1/calls/dial", 202, ok(drop(CALL, "sim"))),
    (False, "POST", "/v1/calls/dial", 202, ok(dict(CALL, extra=1))),
    (False, "POST", "/v1/calls/dial", 202, ok(dict(CALL, created_at="2026-06-08T13:30:06+00:00"))),
    (False, "POST", "/v1/calls/dial", 202, ok(dict(CALL, **{"from": "14155552671"}))),
    (False, "POST", "/v1/calls/dial", 202, ok(dict(CALL, sim={"modem": "x", "slot": 0}))),
    (False, "POST", "/v1/calls/dial", 202, {"success": True, "data": CALL, "meta": META}),
    (False, "POST", "/v1/calls/dial", 200, ok(CALL)),  # undocumented status
    (True, "POST", "/v1/calls/dial", 400, err("invalid_parameter", "unknown field x", "x")),
    (True, "POST", "/v1/calls/dial", 400, err("invalid_json", "the body must be a JSON object")),
    (False, "POST", "/v1/calls/dial", 400, err("country_mismatch", field="to")),
    (True, "POST", "/v1/calls/dial", 422, err("country_mismatch", field="to")),
    (False, "POST", "/v1/calls/dial", 422, dict(err("invalid_number", field="from"), data=None)),
    (False, "POST", "/v1/calls/dial", 422, {"success": False, "error": {"code": "invalid_number"}}),
    (True, "POST", "/v1/calls/dial", 503, err("modemmanager_unavailable", "ModemManager is not running")),
    (True, "POST", "/v1/calls/dial", 413, err("payload_too_large", "the body is larger than 16384 bytes")),
    (False, "POST", "/v1/calls/dial", 413, ""),
    (True, "DELETE", "/v1/calls/dial", 405, err("method_not_allowed", "only POST is allowed here")),
    (True, "POST", "/v1/health", 405, err("method_not_allowed", "only GET is allowed here")),
    (False, "POST", "/v1/health", 405, err("not_found")),
    (True, "GET", "/v1/calls/b4e2f7a1-83fe-4aed-b7ef-471f2efc95a9", 200, ok(ENDED)),
    (True, "GET", "/v1/calls/{call_id}", 200, ok(MISSED_WITHHELD)),
    (False, "GET", "/v1/calls/{call_id}", 200, ok(dict(ENDED, duration_seconds=63.5))),
    (False, "GET", "/v1/calls/{call_id}", 200, ok(dict(ENDED, duration_seconds="63"))),
    (False, "GET", "/v1/calls/{call_id}", 200, ok(dict(ENDED, cost_usd="0.04"))),
    (False, "GET", "/v1/calls/{call_id}", 200, ok(dict(ENDED, end_reason="hangup"))),
    (False, "GET", "/v1/calls/{call_id}", 200, ok(dict(ENDED, status="answering"))),
    (False, "GET", "/v1/calls/{call_id}", 200, {"success": "true", "data": ENDED}),
    (True, "GET", "/v1/calls/{call_id}", 401, err("unauthorized", "the API key is unknown or revoked")),
    (False, "GET", "/v1/calls/{call_id}", 401, err("not_found")),
    (True, "GET", "/v1/calls/{call_id}", 404, err("not_found", "call abc not found")),
    (True, "GET", "/v1/calls", 200, ok([ENDED, MISSED_WITHHELD], meta=META)),
    (True, "GET", "/v1/calls?page=9", 200, ok([], meta={"total": 2, "page": 9, "per_page": 20, "total_pages": 1})),
    (False, "GET", "/v1/calls", 200, ok([ENDED], meta=drop(META, "total_pages"))),
    (False, "GET", "/v1/calls", 200, ok([ENDED], meta=dict(META, per_page=101))),
    (False, "GET", "/v1/calls", 200, ok([ENDED])),
    (True, "GET", "/v1/calls", 400, err("invalid_parameter", "per_page must be a whole number from 1 to 100", "per_page")),
    (True, "GET", "/v1/calls", 405, err("method_not_allowed", "only GET is allowed here")),
    (True, "POST", "/v1/calls/{call_id}/answer", 202, ok(dict(CALL, direction="inbound", status="answering"))),
    (False, "POST", "/v1/calls/{call_id}/answer", 202, ok(dict(CALL, direction="inbound", status="ringing"))),
    (True, "POST", "/v1/calls/{call_id}/answer", 409, err("invalid_state", "cannot answer a call that is ended")),
    (True, "POST", "/v1/calls/x/hangup", 200, ok(ENDED)),
    (False, "POST", "/v1/calls/x/hangup", 409, err("line_busy")),
    (True, "POST", "/v1/calls/x/hangup", 502, err("modem_error", "ModemManager refused to hang up: x")),
    (True, "GET", "/v1/numbers", 200, ok([NUMBER, NUMBER_ONLINE])),
    (False, "GET", "/v1/numbers", 200, ok([dict(NUMBER, state="idle")])),
    (True, "GET", "/v1/numbers/+4915112345678", 200, ok(NUMBER)),
    (False, "GET", "/v1/numbers/{number}", 200, ok(dict(NUMBER_ONLINE, modem=drop(NUMBER_ONLINE["modem"], "operator")))),
    (True, "POST", "/v1/numbers/{number}/activate", 409, err("invalid_state", "the modem has a single SIM and no slots to switch between")),
    (True, "POST", "/v1/numbers/{number}/activate", 200, ok(NUMBER_ONLINE)),
    (True, "GET", "/v1/health", 200, ok(HEALTH)),
    (True, "GET", "/v1/health", 503, ok(dict(HEALTH, status="degraded", database="error"))),
    (False, "GET", "/v1/health", 200, ok(drop(HEALTH, "open_calls"))),
    (False, "GET", "/v1/health", 401, err("unauthorized")),
    (True, "GET", "/v1/openapi.json", 200, {"openapi": "3.0.3", "info": {}, "paths": {}}),
    (False, "GET", "/v1/openapi.json", 200, "{not json"),
    # webhooks
    (True, "POST", "/v1/webhooks", 201, ok(WEBHOOK_NEW)),
    (False, "POST", "/v1/webhooks", 201, ok(WEBHOOK)),  # the secret is only here, and required
    (False, "POST", "/v1/webhooks", 201, ok(dict(WEBHOOK_NEW, secret="s3cr3t"))),
    (False, "POST", "/v1/webhooks", 200, ok(WEBHOOK_NEW)),
    (True, "POST", "/v1/webhooks", 422, err("invalid_url", "url must use http or https", "url")),
    (False, "POST", "/v1/webhooks", 400, err("invalid_url", "url must use http or https", "url")),
    (True, "POST", "/v1/webhooks", 400, err("invalid_parameter", "unknown field enabled", "enabled")),
    (True, "POST", "/v1/webhooks", 415, err("unsupported_media_type")),
    (True, "PUT", "/v1/webhooks", 405, err("method_not_allowed", "this route allows only GET, POST")),
    (True, "GET", "/v1/webhooks", 200, ok([WEBHOOK, WEBHOOK_GONE])),
    (True, "GET", "/v1/webhooks", 200, ok([])),
    (False, "GET", "/v1/webhooks", 200, ok([WEBHOOK_NEW])),  # never a secret in lists
    (False, "GET", "/v1/webhooks", 200, ok([WEBHOOK], meta=META)),
    (False, "GET", "/v1/webhooks", 200, ok([dict(WEBHOOK, events=[])])),
    (False, "GET", "/v1/webhooks", 200, ok([dict(WEBHOOK, events="call.missed")])),
    (False, "GET", "/v1/webhooks", 200, ok([dict(WEBHOOK, events=["call.missed", "call.missed"])])),
    (False, "GET", "/v1/webhooks", 200, ok([dict(WEBHOOK, events=["webhook.test"])])),
    (False, "GET", "/v1/webhooks", 200, ok([dict(WEBHOOK, events=["call.*", "call.ringing"])])),
    (False, "GET", "/v1/webhooks", 200, ok([drop(WEBHOOK, "failing_since")])),
    (False, "GET", "/v1/webhooks", 200, ok([dict(WEBHOOK, id="wh_1")])),
    (False, "GET", "/v1/webhooks", 200, ok([dict(WEBHOOK, description="x" * 257)])),
    (True, "GET", "/v1/webhooks/wh_has6sdbd8p2zr24pkk89mzd8ew", 200, ok(WEBHOOK_GONE)),
    (True, "GET", "/v1/webhooks/{webhook_id}", 404, err("not_found", "no such webhook")),
    (False, "GET", "/v1/webhooks/{webhook_id}", 404, err("invalid_parameter", "no such webhook")),
    (True, "PATCH", "/v1/webhooks/{webhook_id}", 200, ok(dict(WEBHOOK, enabled=False, disabled_reason="disabled through the API"))),
    (True, "PATCH", "/v1/webhooks/{webhook_id}", 422, err("invalid_url", "url has no host", "url")),
    (True, "PATCH", "/v1/webhooks/{webhook_id}", 400, err("invalid_parameter", "enabled must be true or false", "enabled")),
    (False, "PATCH", "/v1/webhooks/{webhook_id}", 200, ok(dict(WEBHOOK, enabled="false"))),
    (True, "DELETE", "/v1/webhooks/{webhook_id}", 200, ok(WEBHOOK)),
    (False, "DELETE", "/v1/webhooks/{webhook_id}", 204, ""),
    (True, "POST", "/v1/webhooks/{webhook_id}", 405, err("method_not_allowed", "this route allows only GET, PATCH, DELETE")),
    (True, "GET", "/v1/webhooks/{webhook_id}/deliveries", 200, ok([DELIVERY_TEST, DELIVERY_CALL], meta=META)),
    (True, "GET", "/v1/webhooks/{webhook_id}/deliveries?page=7", 200, ok([], meta=dict(META, page=7))),
    (False, "GET", "/v1/webhooks/{webhook_id}/deliveries", 200, ok([DELIVERY_TEST])),  # meta is required
    (False, "GET", "/v1/webhooks/{webhook_id}/deliveries", 200, ok([dict(DELIVERY_TEST, status="queued")], meta=META)),
    (False, "GET", "/v1/webhooks/{webhook_id}/deliveries", 200, ok([dict(DELIVERY_TEST, sequence=0)], meta=META)),
    (False, "GET", "/v1/webhooks/{webhook_id}/deliveries", 200, ok([dict(DELIVERY_TEST, event_type="call.answering")], meta=META)),
    (False, "GET", "/v1/webhooks/{webhook_id}/deliveries", 200, ok([drop(DELIVERY_TEST, "attempts")], meta=META)),
    (False, "GET", "/v1/webhooks/{webhook_id}/deliveries", 200,
     ok([dict(DELIVERY_CALL, attempts=[{"attempted_at": "2026-06-08T13:30:06Z", "http_status": None, "error": "refused", "duration_ms": 5}])], meta=META)),
    (False, "GET", "/v1/webhooks/{webhook_id}/deliveries", 200,
     ok([dict(DELIVERY_CALL, attempts=[{"attempted_at": "2026-06-08T13:30:06Z", "http_status": 200, "error": None}])], meta=META)),
    (False, "GET", "/v1/webhooks/{webhook_id}/deliveries", 200,
     ok([dict(DELIVERY_CALL, attempts=[{"attempted_at": "2026-06-08T13:30:06Z", "http_status": 200, "error": None, "duration_ms": 1.5}])], meta=META)),
    (True, "GET", "/v1/webhooks/{webhook_id}/deliveries", 400, err("invalid_parameter", "unknown query parameter foo", "foo")),
    (True, "GET", "/v1/webhooks/{webhook_id}/deliveries", 404, err("not_found", "no such webhook")),
    (True, "POST", "/v1/webhooks/{webhook_id}/deliveries", 405, err("method_not_allowed", "this route allows only GET")),
    (True, "POST", "/v1/webhooks/{webhook_id}/test", 202, ok(DELIVERY_TEST)),
    (False, "POST", "/v1/webhooks/{webhook_id}/test", 200, ok(DELIVERY_TEST)),
    (False, "POST", "/v1/webhooks/{webhook_id}/test", 202, ok(WEBHOOK)),
    (True, "POST", "/v1/webhooks/{webhook_id}/deliveries/{delivery_id}/redeliver", 202, ok(dict(DELIVERY_CALL, status="pending", next_attempt_at="2026-06-09T08:00:00Z"))),
    (True, "POST", "/v1/webhooks/{webhook_id}/deliveries/{delivery_id}/redeliver", 404, err("not_found", "no such delivery")),
    (True, "GET", "/v1/webhooks/{webhook_id}/deliveries/{delivery_id}/redeliver", 405, err("method_not_allowed", "this route allows only POST")),
    (True, "POST", "/v1/webhooks/{webhook_id}/test", 401, err("unauthorized", "the API key is unknown or revoked")),
    # metrics
    (True, "GET", "/metrics", 200, METRICS),
    (False, "GET", "/metrics", 200, ok(HEALTH)),
    (True, "GET", "/metrics", 401, err("unauthorized", "send the API key as Authorization: Bearer ak_…")),
    (True, "POST", "/metrics", 405, err("method_not_allowed", "this route allows only GET")),
]

# Payloads reachcelld sends to webhooks: (expected valid?, body) against #/components/schemas/WebhookEvent
TEST_EVENT = {"id": "evt_jf3j77ddaxadyn9w7wy71bdxar", "type": "webhook.test", "created_at": "2026-06-08T13:30:06Z",
              "data": {"webhook_id": "wh_has6sdbd8p2zr24pkk89mzd8ew", "message": "This is a test event from reachcelld."}}
CALL_EVENT = {"id": "evt_jf3j77ddaxadyn9w7wy71bdxar", "type": "call.missed", "created_at": "2026-06-08T13:30:30Z",
              "sequence": 3, "data": MISSED_WITHHELD}
EVENT_SAMPLES = [
    (True, TEST_EVENT),
    (True, CALL_EVENT),
    (True, dict(CALL_EVENT, type="call.initiating", sequence=1, data=CALL)),
    (False, dict(TEST_EVENT, sequence=1)),  # no sequence on test events
    (False, drop(CALL_EVENT, "sequence")),
    (False, dict(CALL_EVENT, sequence=0)),
    (False, dict(CALL_EVENT, type="call.answering")),
    (False, dict(CALL_EVENT, data=dict(CALL, status="answering"))),
    (False, dict(CALL_EVENT, data=TEST_EVENT["data"])),
    (False, dict(TEST_EVENT, data=CALL)),
    (False, dict(CALL_EVENT, id="dlv_axp9dqth5mrfbf8h1whajsgzbr")),
    (False, dict(CALL_EVENT, extra=True)),
]


def selftest(doc):
    failures = []
    problems = lint(doc)
    if problems:
        failures.append("lint of the document failed: %s" % "; ".join(problems[:5]))

    for expected, method, path, status, body in SAMPLES:
        text = body if isinstance(body, str) else json.dumps(body)
        problems = validate_body(doc, method, path, status, text)
        if (not problems) != expected:
            failures.append("%s %s %s: expected %s, got %s%s"
                            % (method, path, status, "valid" if expected else "invalid",
                               "valid" if not problems else "invalid",
                               (": " + problems[0]) if problems else " (sample: %s)" % text[:160]))

    event_validator = validator_for(doc, {"$ref": "#/components/schemas/WebhookEvent"})
    for expected, body in EVENT_SAMPLES:
        problems = list(event_validator.iter_errors(body))
        if (not problems) != expected:
            failures.append("WebhookEvent: expected %s, got %s: %s"
                            % ("valid" if expected else "invalid", "valid" if not problems else "invalid",
                               json.dumps(body)[:160]))

    # The linter must fail a broken copy.
    broken = copy.deepcopy(doc)
    op = broken["paths"]["/v1/calls"]["get"]
    del op["operationId"]
    op["responses"].pop("401", None)
    op["responses"]["200"] = {"$ref": "#/components/responses/NoSuchResponse"}
    if len(lint(broken)) == 0:
        failures.append("lint accepted a document with a dangling $ref")
    del op["responses"]["200"]
    op["responses"]["200"] = {"description": "x", "content": {"application/json": {"schema": {"type": "object"}}}}
    found = lint(broken)
    if not any("operationId" in p for p in found) or not any("401" in p for p in found):
        failures.append("lint missed a missing operationId or 401: %s" % found)

    # An unknown operation is a usage error, not a verdict.
    try:
        validate_body(doc, "GET", "/v1/nope", 200, "{}")
        failures.append("validate accepted an undocumented path")
    except UsageError:
        pass

    for failure in failures:
        print("FAIL: " + failure)
    print("selftest: %d samples, %d failure(s)" % (len(SAMPLES) + len(EVENT_SAMPLES), len(failures)))
    return 1 if failures else 0


# --- main --------------------------------------------------------------------------------------

def main(argv):
    if len(argv) < 3 or argv[1] not in ("lint", "validate", "selftest"):
        sys.stderr.write(__doc__)
        return 2
    mode, document = argv[1], argv[2]
    try:
        doc = load_document(document)
        if mode == "lint":
            if len(argv) != 3:
                raise UsageError("usage: check-openapi.py lint DOCUMENT")
            problems = lint(doc)
            for problem in problems:
                print("lint: " + problem)
            if problems:
                print("lint: %s: %d problem(s)" % (document, len(problems)))
                return 1
            print("lint: %s: OK" % document)
            return 0
        if mode == "selftest":
            return selftest(doc)
        if len(argv) != 7:
            raise UsageError("usage: check-openapi.py validate DOCUMENT METHOD PATH STATUS BODY_FILE")
        method, path, status, body_file = argv[3:7]
        if not re.match(r"^[1-5][0-9][0-9]$", status):
            raise UsageError("STATUS must be a three-digit HTTP status, not %r" % status)
        try:
            if body_file == "-":
                text = sys.stdin.buffer.read().decode("utf-8")
            else:
                with open(body_file, "rb") as f:
                    text = f.read().decode("utf-8")
        except OSError as e:
            raise UsageError("cannot read %s: %s" % (body_file, e.strerror))
        except UnicodeDecodeError as e:
            print("invalid: %s %s %s: the body is not UTF-8: %s" % (method.upper(), path, status, e))
            return 1
        problems = validate_body(doc, method, path, status, text)
        if problems:
            for problem in problems:
                print("invalid: " + problem)
            return 1
        print("valid: %s %s %s" % (method.upper(), path, status))
        return 0
    except UsageError as e:
        sys.stderr.write("check-openapi: %s\n" % e)
        return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv))
