"""Checks bodies the DigitalOcean fake sent and received against DigitalOcean's published OpenAPI.

stdin: JSON list of {"op": <operation file under specification/>, "status": int, "body": ..., "kind": "response"|"request"}.
stdout: JSON list of problems (strings); empty when every body matches its schema.
"""
import json
import pathlib
import sys

import yaml
from openapi_schema_validator import OAS30Validator
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT4

SPEC = pathlib.Path(sys.argv[1]).resolve()


class Yaml12Loader(yaml.SafeLoader):
    """OpenAPI 3.0 files are YAML 1.2, where only true/false are booleans; PyYAML reads YAML 1.1,
    where an unquoted `off` (a droplet status in DigitalOcean's enum) would become False."""


Yaml12Loader.yaml_implicit_resolvers = {
    k: [(tag, rx) for tag, rx in v if tag != "tag:yaml.org,2002:bool"]
    for k, v in yaml.SafeLoader.yaml_implicit_resolvers.items()
}
Yaml12Loader.add_implicit_resolver(
    "tag:yaml.org,2002:bool", __import__("re").compile(r"^(?:true|True|TRUE|false|False|FALSE)$"), list("tTfF")
)
_cache = {}


def load(path):
    path = str(path)
    if path not in _cache:
        text = pathlib.Path(path).read_text()
        _cache[path] = yaml.load(text, Loader=Yaml12Loader) if path.endswith((".yml", ".yaml")) else json.loads(text)
    return _cache[path]


def follow(file, node, pointer):
    """Resolves a $ref object (relative to `file`) to (file, pointer, node); `pointer` is where node is."""
    while isinstance(node, dict) and "$ref" in node:
        ref = node["$ref"]
        target, _, frag = ref.partition("#")
        if target:
            file = (pathlib.Path(file).parent / target).resolve()
            pointer = ""
        node = load(file)
        if frag:
            pointer = frag
            for part in frag.strip("/").split("/"):
                node = node[part.replace("~1", "/").replace("~0", "~")]
    return file, pointer, node


def schema_location(op_file, kind, status):
    file = (SPEC / op_file).resolve()
    op = load(file)
    if kind == "request":
        file, ptr, rb = follow(file, op["requestBody"], "/requestBody")
        base = ptr
        node = rb
    else:
        responses = op["responses"]
        key = str(status) if str(status) in responses else "default"
        if key not in responses:
            raise LookupError(f"{op_file}: status {status} is not a documented answer")
        file, ptr, node = follow(file, responses[key], f"/responses/{key}")
        base = ptr
    content = node.get("content", {}).get("application/json")
    if content is None:
        return file, None
    esc = "application~1json"
    pointer = f"{base}/content/{esc}/schema" if base else f"/content/{esc}/schema"
    return file, pointer


def validator(file, pointer):
    reg = Registry(retrieve=lambda u: Resource.from_contents(load(u.removeprefix("file://")), default_specification=DRAFT4))
    return OAS30Validator({"$ref": f"{pathlib.Path(file).as_uri()}#{pointer}"}, registry=reg)


def main():
    problems = []
    validators = {}
    for i, rec in enumerate(json.load(sys.stdin)):
        where = f"#{i} {rec['kind']} {rec['op']} {rec['status']}"
        try:
            file, pointer = schema_location(rec["op"], rec["kind"], rec["status"])
        except (LookupError, KeyError) as e:
            problems.append(f"{where}: {e}")
            continue
        if pointer is None:
            if rec.get("body") not in (None, ""):
                problems.append(f"{where}: a body where the spec documents none")
            continue
        key = (str(file), pointer)
        if key not in validators:
            validators[key] = validator(file, pointer)
        for err in validators[key].iter_errors(rec["body"]):
            problems.append(f"{where}: {'/'.join(map(str, err.absolute_path))}: {err.message[:300]}")
    json.dump(problems, sys.stdout)


main()
