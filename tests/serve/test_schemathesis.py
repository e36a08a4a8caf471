"""A bounded schemathesis run over the OpenAPI schema: generated requests never get a 5xx."""

import pytest

schemathesis = pytest.importorskip("schemathesis", reason="schemathesis is in the test extra")
from hypothesis import HealthCheck, given, settings  # noqa: E402
from schemathesis.checks import not_a_server_error  # noqa: E402

from .conftest import make_app  # noqa: E402

EXAMPLES = 15  # per operation: bounded, so CI stays fast


def test_no_generated_request_gets_a_server_error(tiny_deployment, tiny_backbone) -> None:
    app = make_app(tiny_deployment, tiny_backbone)
    app.state.holder.reload()  # the lifespan skips loading when a deployment is already there
    schema = schemathesis.openapi.from_asgi("/openapi.json", app)
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) >= 11
    for operation in operations:

        @given(case=operation.as_strategy())
        @settings(max_examples=EXAMPLES, deadline=None, derandomize=True,
                  suppress_health_check=list(HealthCheck))  # fmt: skip
        def check(case) -> None:
            case.call_and_validate(checks=[not_a_server_error])

        check()
    # The generated requests did reach the endpoints (not only the router's 404s).
    from prometheus_client import generate_latest

    metrics = generate_latest(app.state.registry).decode()
    # (Which statuses random bodies earn varies; reaching the route is what is checked here.)
    assert 'route="/v1/recommend"' in metrics
    assert 'route="/v1/users/embed"' in metrics
