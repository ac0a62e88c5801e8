"""Checks bodies the Hetzner Cloud fake sent and received against the published OpenAPI description.

argv[1]: hcloud.json. stdin: JSON list of {"op": "METHOD /path/{template}", "status": int, "body": ...,
"kind": "response"|"request"}. stdout: JSON list of problems (strings); empty when every body matches.
"""
import json
import sys

from openapi_schema_validator import OAS30Validator
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT4

URI = "urn:hcloud"
doc = json.load(open(sys.argv[1]))


def nullable_refs(node):
    """The description writes a nullable reference as {allOf: [$ref], nullable: true}. OAS 3.0.3
    gives nullable effect only beside a type, so a strict validator would refuse null there,
    though the description means it (and the API sends it: an action's error is null until it
    fails). Such a schema is read as "the reference, or null"."""
    if isinstance(node, dict):
        for v in node.values():
            nullable_refs(v)
        if node.get("nullable") and "type" not in node and "allOf" in node:
            node["anyOf"] = [{"allOf": node.pop("allOf")}, {"enum": [None]}]
            node.pop("nullable")
    elif isinstance(node, list):
        for v in node:
            nullable_refs(v)


nullable_refs(doc)
registry = Registry().with_resource(URI, Resource.from_contents(doc, default_specification=DRAFT4))


def resolve(node):
    while isinstance(node, dict) and "$ref" in node:
        target = doc
        for part in node["$ref"].lstrip("#/").split("/"):
            target = target[part.replace("~1", "/").replace("~0", "~")]
        node = target
    return node


def esc(s):
    return s.replace("~", "~0").replace("/", "~1")


def pointer(op, kind, status):
    method, path = op.split(" ", 1)
    item = doc["paths"].get(path)
    if item is None or method.lower() not in item:
        raise LookupError(f"{op}: no such operation in the description")
    o = item[method.lower()]
    base = f"/paths/{esc(path)}/{method.lower()}"
    if kind == "request":
        if "requestBody" not in o:
            return None
        rb = resolve(o["requestBody"])
        if "application/json" not in rb.get("content", {}):
            return None
        if "$ref" in o["requestBody"]:
            raise LookupError(f"{op}: requestBody by $ref is not handled")
        return f"{base}/requestBody/content/application~1json/schema"
    responses = o["responses"]
    key = str(status)
    if key not in responses:
        key = f"{key[0]}xx"
    if key not in responses:
        raise LookupError(f"{op}: status {status} is not a documented answer")
    r = responses[key]
    if "$ref" in r:
        raise LookupError(f"{op}: response by $ref is not handled")
    if "application/json" not in r.get("content", {}):
        return None
    return f"{base}/responses/{key}/content/application~1json/schema"


def main():
    problems = []
    validators = {}
    for i, rec in enumerate(json.load(sys.stdin)):
        where = f"#{i} {rec['kind']} {rec['op']} {rec['status']}"
        try:
            ptr = pointer(rec["op"], rec["kind"], rec["status"])
        except LookupError as e:
            problems.append(f"{where}: {e}")
            continue
        if ptr is None:
            if rec.get("body") not in (None, ""):
                problems.append(f"{where}: a body where the description documents none")
            continue
        if ptr not in validators:
            validators[ptr] = OAS30Validator({"$ref": f"{URI}#{ptr}"}, registry=registry)
        for err in validators[ptr].iter_errors(rec["body"]):
            problems.append(f"{where}: {'/'.join(map(str, err.absolute_path))}: {err.message[:300]}")
    json.dump(problems, sys.stdout)


main()
