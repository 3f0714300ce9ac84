"""Thin HTTP trigger functions: parse the request, call a plain handler in shared/api, return its response."""

import azure.durable_functions as df
import azure.functions as func

from shared import names
from shared.api.health import health as health_handler
from shared.api.responses import ApiResponse
from shared.composition import health_checks

bp = df.Blueprint()


def _to_http(response: ApiResponse) -> func.HttpResponse:
    return func.HttpResponse(
        body=response.body, status_code=response.status, mimetype=response.mimetype, headers=response.headers
    )


@bp.function_name(names.HEALTH)
@bp.route(route="health", methods=["GET"], auth_level=func.AuthLevel.ANONYMOUS)
def health(req: func.HttpRequest) -> func.HttpResponse:
    return _to_http(health_handler(health_checks()))
