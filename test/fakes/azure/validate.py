"""Checks bodies the Azure Resource Manager fake sent and received against the published Swagger 2.0
descriptions (../shared/reference/api-specs/azure/specification).

argv[1]: the specification folder. stdin: JSON list of {"op": operationId, "status": int, "body": ...,
"kind": "response"|"request"}. stdout: JSON list of problems (strings); empty when every body matches.
With `--examples OPERATION_ID...` instead of stdin: the x-ms-examples bodies of those operations are
checked, the check of the checker ({"checked": n, "problems": [...]}).

The descriptions are read as Draft 4 JSON Schema, with three changes that make the check strict
where Swagger is loose and lenient where ARM is:
- allOf inheritance is merged into the inheriting schema, and every schema with properties is then
  closed (additionalProperties: false), so a misspelt property is a problem rather than ignored;
- in a request, a readOnly property is never required (ARM fills it in and ignores what is sent);
- relative $refs across files are made absolute before merging, so copied properties still resolve.
x-ms-* extensions (client-flatten, mutability...) have no effect on the wire and are ignored; an
enum marked modelAsString is any string (ARM accepts values newer than
the description, such as VM sizes); other enums are enforced as listed.

Operations whose descriptions are not among the copied files are named in UNDESCRIBED: their
success bodies are not checked, their error bodies are checked against ARM's common ErrorResponse.
"""
import copy
import json
import os
import sys

from jsonschema import Draft4Validator
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT4

ROOT = os.path.abspath(sys.argv[1])
TYPES = "common-types/resource-management/v1/types.json"

# Not in the copied files: Subscriptions_* (subscriptions.json), VirtualMachineImages_*
# (virtualMachineImage.json), AvailabilitySets_* (availabilitySet.json), Disks_* (diskRPCommon /
# disk.json). Their success bodies are not checked.
UNDESCRIBED = {
    "Subscriptions_Get",
    "Subscriptions_List",
    "Subscriptions_ListLocations",
    "VirtualMachineImages_List",
    "VirtualMachineImages_Get",
    "AvailabilitySets_CreateOrUpdate",
    "AvailabilitySets_Get",
    "AvailabilitySets_Delete",
    "AvailabilitySets_List",
    "AvailabilitySets_ListBySubscription",
    "AvailabilitySets_Update",
    "Disks_CreateOrUpdate",
    "Disks_Get",
    "Disks_Delete",
    "Disks_Update",
    "Disks_List",
    "Disks_ListByResourceGroup",
}

# The body of an Azure-AsyncOperation poll: ARM's resource-provider contract, which no copied
# Swagger file describes.
ASYNC_STATUS = {
    "type": "object",
    "required": ["status"],
    "additionalProperties": False,
    "properties": {
        "id": {"type": "string"},
        "name": {"type": "string"},
        "status": {"enum": ["InProgress", "Succeeded", "Failed", "Canceled"]},
        "startTime": {"type": "string"},
        "endTime": {"type": "string"},
        "percentComplete": {"type": "number"},
        "properties": {"type": "object"},
        "error": {"$ref": f"file://{ROOT}/{TYPES}#/definitions/ErrorResponse"},
    },
}


def load_all():
    docs = {}
    for dirpath, _dirs, files in os.walk(ROOT):
        if "/examples" in dirpath:
            continue
        for f in files:
            if f.endswith(".json"):
                path = os.path.join(dirpath, f)
                docs["file://" + path] = json.load(open(path))
    return docs


def absolutize(node, base):
    if isinstance(node, dict):
        for k, v in node.items():
            if k == "$ref" and isinstance(v, str):
                file, _, frag = v.partition("#")
                target = base if not file else "file://" + os.path.normpath(os.path.join(os.path.dirname(base[7:]), file))
                node[k] = f"{target}#{frag}"
            else:
                absolutize(v, base)
    elif isinstance(node, list):
        for v in node:
            absolutize(v, base)


def lookup(docs, ref):
    uri, _, frag = ref.partition("#")
    node = docs[uri]
    for part in frag.lstrip("/").split("/"):
        if part:
            node = node[part.replace("~1", "/").replace("~0", "~")]
    return node


def merged(docs, schema, seen=()):
    """The schema's own properties and required plus those it inherits through allOf."""
    while "$ref" in schema:
        if schema["$ref"] in seen:
            return {}, []
        seen = (*seen, schema["$ref"])
        schema = lookup(docs, schema["$ref"])
    props = {}
    required = []
    for part in schema.get("allOf", []):
        p, r = merged(docs, part, seen)
        props.update(p)
        required += r
    props.update(schema.get("properties", {}))
    required += schema.get("required", [])
    return props, required


def reshape(docs, request):
    out = copy.deepcopy(docs)

    def walk(node):
        if isinstance(node, dict):
            for k, v in list(node.items()):
                if k not in ("example", "x-ms-examples"):
                    walk(v)
            if "allOf" in node:
                props, required = merged(docs, {"allOf": node["allOf"]})
                props = {**props, **node.get("properties", {})}
                node["properties"] = copy.deepcopy(props)
                node["required"] = sorted(set(required + node.get("required", [])))
                if not node["required"]:
                    del node["required"]
                del node["allOf"]
                node.setdefault("type", "object")
                walk(node["properties"])
            if "enum" in node and node.get("x-ms-enum", {}).get("modelAsString"):
                del node["enum"]
            if isinstance(node.get("properties"), dict) and "additionalProperties" not in node:
                node["additionalProperties"] = False
            if request and isinstance(node.get("required"), list) and isinstance(node.get("properties"), dict):
                req = [r for r in node["required"] if not node["properties"].get(r, {}).get("readOnly")]
                if req:
                    node["required"] = req
                else:
                    del node["required"]
            if node.get("x-nullable") is True:
                inner = {k: v for k, v in node.items() if k != "x-nullable"}
                node.clear()
                node["anyOf"] = [inner, {"type": "null"}]
        elif isinstance(node, list):
            for v in node:
                walk(v)

    for doc in out.values():
        walk(doc.get("definitions", {}))
        walk(doc.get("paths", {}))
        walk(doc.get("parameters", {}))
        walk(doc.get("responses", {}))
    return out


def main():
    docs = load_all()
    for uri, doc in docs.items():
        absolutize(doc, uri)
    ops = {}
    for uri, doc in docs.items():
        for path, item in doc.get("paths", {}).items():
            for method, op in item.items():
                if isinstance(op, dict) and "operationId" in op:
                    ops.setdefault(op["operationId"], (uri, path, method, item))
    shaped = {False: reshape(docs, False), True: reshape(docs, True)}
    registries = {}
    for mode, ds in shaped.items():
        reg = Registry()
        for uri, doc in ds.items():
            reg = reg.with_resource(uri, Resource.from_contents(doc, default_specification=DRAFT4))
        registries[mode] = reg
    # What ARM itself answers before a provider sees the request: {"error": {code, message, ...}}.
    error_schema = {
        "type": "object",
        "required": ["error"],
        "additionalProperties": False,
        "properties": {"error": {"$ref": f"file://{ROOT}/{TYPES}#/definitions/ErrorResponse"}},
    }

    def schema_for(rec):
        op, kind, status = rec["op"], rec["kind"], rec["status"]
        if op == "ARM" or (op in UNDESCRIBED and kind == "response" and status >= 400):
            return error_schema
        if op in ("AsyncOperation", "LocationPoll") and status >= 400:
            return error_schema
        if op == "AsyncOperation":
            return ASYNC_STATUS
        if op == "LocationPoll":
            return None
        if op in UNDESCRIBED:
            return "skip"
        if op not in ops:
            raise LookupError(f"{op}: no such operation in the descriptions")
        uri, path, method, item = ops[op]
        o = item[method]
        base = f"{uri}#/paths/{path.replace('~', '~0').replace('/', '~1')}/{method}"
        if kind == "request":
            params = [lookup(docs, p["$ref"]) if "$ref" in p else p for p in o.get("parameters", []) + item.get("parameters", [])]
            for i, p in enumerate(o.get("parameters", [])):
                if "$ref" in p:
                    p = lookup(docs, p["$ref"])
                    if p.get("in") == "body":
                        return {"$ref": p["schema"]["$ref"]} if "$ref" in p["schema"] else p["schema"]
                elif p.get("in") == "body":
                    return {"$ref": f"{base}/parameters/{i}/schema"}
            if any(p.get("in") == "body" for p in params):
                raise LookupError(f"{op}: body parameter not found")
            return None
        key = str(status)
        if key not in o["responses"]:
            if status < 400 or "default" not in o["responses"]:
                raise LookupError(f"{op}: status {status} is not a documented answer")
            key = "default"
        if "schema" not in o["responses"][key]:
            return None
        return {"$ref": f"{base}/responses/{key}/schema"}

    if sys.argv[2:3] == ["--examples"]:
        records = examples(docs, ops, set(sys.argv[3:]))
    else:
        records = json.load(sys.stdin)
    problems = []
    validators = {}
    for i, rec in enumerate(records):
        where = f"#{i} {rec['kind']} {rec['op']} {rec['status']}{' ' + rec['example'] if 'example' in rec else ''}"
        try:
            schema = schema_for(rec)
        except LookupError as e:
            problems.append(f"{where}: {e}")
            continue
        if schema == "skip":
            continue
        body = rec.get("body")
        if schema is None:
            if body not in (None, ""):
                problems.append(f"{where}: a body where the description documents none")
            continue
        key = (json.dumps(schema, sort_keys=True), rec["kind"] == "request")
        if key not in validators:
            validators[key] = Draft4Validator(schema, registry=registries[rec["kind"] == "request"])
        for err in validators[key].iter_errors(body):
            problems.append(f"{where}: /{'/'.join(map(str, err.absolute_path))}: {err.message[:300]}")
    json.dump({"checked": len(records), "problems": problems} if sys.argv[2:3] == ["--examples"] else problems, sys.stdout)


def examples(docs, ops, wanted):
    """The request and response bodies of the x-ms-examples of the wanted operations, as records."""
    records = []
    for op_id in sorted(wanted):
        if op_id not in ops:
            continue
        uri, _path, method, item = ops[op_id]
        o = item[method]
        body = next((p["name"] for p in o.get("parameters", []) if p.get("in") == "body"), None)
        for name, ref in o.get("x-ms-examples", {}).items():
            # absolutize() already made the example's $ref a file:// URI.
            file = ref["$ref"].split("#")[0].removeprefix("file://")
            if not os.path.exists(file):
                continue
            ex = json.load(open(file))
            if body and body in ex.get("parameters", {}):
                records.append({"op": op_id, "kind": "request", "status": 0, "body": ex["parameters"][body], "example": name})
            for status, answer in ex.get("responses", {}).items():
                if "body" in answer:
                    records.append({"op": op_id, "kind": "response", "status": int(status), "body": answer["body"], "example": name})
    return records


main()
