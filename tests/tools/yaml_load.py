#!/usr/bin/env python3
"""Loads a YAML file with two readers and prints both results as JSON.

usage: yaml_load.py FILE

Prints {"pyyaml": ..., "ruamel": ..., "ruamel_pure": ...}: the document as
PyYAML reads it (YAML 1.1, `yaml.safe_load`) and as ruamel.yaml reads it
(YAML 1.2, `YAML(typ='safe')`, and again with its pure-Python parser). Anything that is not JSON data (a date, a set) is printed
as {"not-json": "<type>: <repr>"}, so a value YAML turned into something else
than a string never compares equal to the string it should have been. A reader
that fails prints {"error": "..."} in its place.
"""

import json
import sys

import yaml
from ruamel.yaml import YAML


def plain(value):
    if isinstance(value, dict):
        return {str(k) if isinstance(k, str) else json.dumps({"not-json-key": repr(k)}): plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [plain(v) for v in value]
    if value is None or isinstance(value, (str, bool, int, float)):
        return value
    return {"not-json": f"{type(value).__name__}: {value!r}"}


def load(reader, text):
    try:
        return plain(reader(text))
    except Exception as e:  # noqa: BLE001 - any failure is a result to report
        return {"error": f"{type(e).__name__}: {e}"}


def main(argv):
    if len(argv) != 2:
        print(__doc__, file=sys.stderr)
        return 2
    with open(argv[1], encoding="utf-8") as f:
        text = f.read()
    out = {
        "pyyaml": load(yaml.safe_load, text),
        "ruamel": load(lambda t: YAML(typ="safe").load(t), text),
        "ruamel_pure": load(lambda t: YAML(typ="safe", pure=True).load(t), text),
    }
    json.dump(out, sys.stdout, ensure_ascii=True, sort_keys=True)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
