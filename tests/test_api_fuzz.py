"""schemathesis against `sanarip serve` over seeded data: the API is true to its OpenAPI document.

All checks, a fixed seed and a bounded number of examples per operation, anonymously and with an
editor's API token; the run is capped at a few minutes and must find nothing.
"""

import json
import urllib.request

import pytest
from openapi_spec_validator import validate

from tests.fuzzing import Site, schemathesis, served_site

pytestmark = pytest.mark.slow
EXAMPLES = 25
CAP_SECONDS = 240


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    with served_site(tmp_path_factory.mktemp("fuzz")) as site:
        yield site


def test_the_document_is_valid_openapi(site: Site):
    with urllib.request.urlopen(f"{site.url}/api/v1/openapi.json") as resp:
        doc = json.loads(resp.read())
    validate(doc)
    for path, ops in doc["paths"].items():
        for method, op in ops.items():
            assert "429" in op["responses"] and "Retry-After" in op["responses"]["429"]["headers"], (method, path)
            if method != "get" or "/revisions" in path:
                assert op.get("security"), (method, path)


@pytest.mark.parametrize("who", ["anonymous", "editor"])
def test_schemathesis_finds_nothing(site: Site, tmp_path, who, request):
    result = schemathesis(site, tmp_path / f"{who}.ndjson", token=site.token if who == "editor" else None,
                          examples=EXAMPLES, timeout=CAP_SECONDS)
    reporter = request.config.pluginmanager.get_plugin("terminalreporter")
    if reporter:
        reporter.write_line(f"schemathesis {result.version} ({who}): {result.operations} operations, "
                            f"{result.cases} cases, {len(result.failures)} failures")
    assert result.operations >= 18 and result.cases > 0, result.output[-3000:]
    assert not result.failures, "\n".join(result.failures)[:8000]
