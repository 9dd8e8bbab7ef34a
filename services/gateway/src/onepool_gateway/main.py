"""`onepool gateway`: serve the Connect / gRPC-Web door and the portal with uvicorn until SIGINT/SIGTERM."""

from __future__ import annotations

import uvicorn
from onepool_runtime.telemetry import configure_logging, configure_telemetry

from onepool_gateway.app import create_app
from onepool_gateway.settings import GatewaySettings


def main() -> None:
    settings = GatewaySettings()
    configure_logging(settings)
    configure_telemetry(settings)  # the metrics endpoint (ONEPOOL_METRICS_PORT) and OTLP, as the services'
    uvicorn.run(
        create_app(settings),
        host=settings.gateway_host,
        port=settings.gateway_port,
        log_config=None,  # the runtime's logging (JSON or plain, secrets redacted), not uvicorn's own
        proxy_headers=False,
        lifespan="on",
    )


if __name__ == "__main__":
    main()
