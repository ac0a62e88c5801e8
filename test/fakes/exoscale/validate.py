"""Checks bodies the Exoscale fake sent and received against Exoscale's v2 OpenAPI description.

argv[1]: source.yaml. stdin: JSON list of {"op": "METHOD /path/{template}", "status": int, "body": ...,
"kind": "response"|"request"}. stdout: JSON list of problems (strings); empty when every body matches.
The description documents only the 200 answers: error bodies are not checked (the fake's test
says so).
"""
import json
import sys

import yaml
from openapi_schema_validator import OAS30Validator
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT4

URI = "urn:exoscale"
doc = yaml.safe_load(open(sys.argv[1]))
registry = Registry().with_resource(URI, Resource.from_contents(doc, default_specification=DRAFT4))


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
        rb = o.get("requestBody")
        if not rb or "application/json" not in rb.get("content", {}):
            return None
        return f"{base}/requestBody/content/application~1json/schema"
    r = o["responses"].get(str(status))
    if r is None:
        raise LookupError(f"{op}: status {status} is not a documented answer")
    if "application/json" not in r.get("content", {}):
        return None
    return f"{base}/responses/{status}/content/application~1json/schema"


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
