"""Property-based run over the OpenAPI document: no generated request, valid or not, gets a 5xx.

The run has its own server (generated config changes and syncs must not disturb other tests) and a bounded number
of examples per operation, so it stays fast. Generated log roots are replaced by a folder of the test's own: a
fuzzer must not make the server walk the whole file system. (Schemathesis' lazy pytest fixture does not run on
pytest 9, so each operation's strategy is driven by Hypothesis directly.)
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from hypothesis.errors import Unsatisfiable
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error

from tests.api_server import ApiServer, sample_server, stop_server

MAX_EXAMPLES = 10  # per operation and mode: about 30 operations, a few seconds each way


@pytest.fixture(scope="module")
def fuzz_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ApiServer]:
    server = sample_server(tmp_path_factory.mktemp("fuzz"))
    yield server
    stop_server(server)


@pytest.mark.parametrize("mode", [GenerationMode.POSITIVE, GenerationMode.NEGATIVE], ids=lambda m: m.value)
def test_no_server_errors(fuzz_server: ApiServer, tmp_path: Path, mode: GenerationMode) -> None:
    schema = schemathesis.openapi.from_url(f"{fuzz_server.base_url}/api/openapi.json")
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) >= 13
    failures: list[str] = []
    for operation in operations:
        @settings(max_examples=MAX_EXAMPLES, deadline=None, database=None, suppress_health_check=list(HealthCheck))
        @given(case=operation.as_strategy(generation_mode=mode))
        def run(case: schemathesis.Case) -> None:
            if case.method == "POST" and case.path == "/api/config" and isinstance(case.body, dict) \
                    and "logRoots" in case.body:
                case.body["logRoots"] = [str(tmp_path)]
            case.call_and_validate(base_url=fuzz_server.base_url, headers=fuzz_server.auth,
                                   checks=[not_a_server_error])

        try:
            run()
        except Unsatisfiable:
            assert mode is GenerationMode.NEGATIVE  # nothing to get wrong, e.g. GET /api/health has no parameters
        except Exception as exc:  # collect every operation's failure, then report them together
            failures.append(f"{operation.label}: {exc}")
    assert not failures, "\n\n".join(failures)
    assert fuzz_server.process.poll() is None


def test_server_logged_no_traceback(fuzz_server: ApiServer) -> None:
    assert "Traceback" not in fuzz_server.log(), fuzz_server.log()[-3000:]
