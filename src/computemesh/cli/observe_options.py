"""The flags that node and gateway share for seeing inside them: logs and metrics."""

from typing import Annotated

import typer

LogFormatOpt = Annotated[
    str | None, typer.Option(help="text, or json (one object per line, with request_id)")
]
AccessLogOpt = Annotated[
    bool | None,
    typer.Option("--access-log/--no-access-log", help="one log line per HTTP request"),
]
MetricsOpt = Annotated[
    bool | None,
    typer.Option("--metrics/--no-metrics", help="count requests; serve /metrics (Prometheus)"),
]
