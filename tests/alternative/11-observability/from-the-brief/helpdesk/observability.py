"""Telemetry for the helpdesk: GenAI model-call spans and metrics, the ticket span, JSON log lines."""

from __future__ import annotations

import json
import logging
import sys
import time
from typing import Any, TextIO

import openai
from opentelemetry import metrics, trace
from opentelemetry.metrics import MeterProvider
from opentelemetry.trace import SpanKind, StatusCode, TracerProvider

GENAI = {"gen_ai.operation.name": "chat", "gen_ai.provider.name": "openai"}


class _JsonLines(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        return json.dumps(record.fields)  # type: ignore[attr-defined]


def _error_type(err: BaseException) -> str:
    # The status code when there is one (low cardinality, what dashboards group by), else the class.
    status = getattr(err, "status_code", None)
    return str(status) if isinstance(err, openai.APIStatusError) and status else type(err).__name__


class Observability:
    def __init__(self, tracer_provider: TracerProvider | None, meter_provider: MeterProvider | None,
                 log_stream: TextIO | None) -> None:
        self.tracer = trace.get_tracer("helpdesk.service", tracer_provider=tracer_provider)
        meter = metrics.get_meter("helpdesk.service", meter_provider=meter_provider)
        self._tokens = meter.create_histogram("gen_ai.client.token.usage", unit="{token}")
        self._seconds = meter.create_histogram("gen_ai.client.operation.duration", unit="s")
        # A logger of its own, outside logging's tree: its records go to log_stream and nowhere else.
        self._records = logging.Logger("helpdesk.tickets", logging.INFO)
        handler = logging.StreamHandler(log_stream if log_stream is not None else sys.stderr)
        handler.setFormatter(_JsonLines())
        self._records.addHandler(handler)

    def call_model(self, model: str, request: Any) -> Any:
        """Run `request()` (one model request) as a GenAI CLIENT span, recording its metrics."""
        base = {**GENAI, "gen_ai.request.model": model}
        span = self.tracer.start_span(f"chat {model}", kind=SpanKind.CLIENT, attributes=base)
        began = time.perf_counter()
        extra: dict[str, Any] = {}
        try:
            with trace.use_span(span, record_exception=False, set_status_on_exception=False):
                response = request()
        except Exception as err:
            extra["error.type"] = _error_type(err)
            span.set_attribute("error.type", extra["error.type"])
            span.record_exception(err, attributes={"exception.message": type(err).__name__})
            span.set_status(StatusCode.ERROR)
            raise
        else:
            extra["gen_ai.response.model"] = response.model
            span.set_attributes({
                "gen_ai.response.model": response.model,
                "gen_ai.response.finish_reasons": [c.finish_reason for c in response.choices],
            })
            if response.usage is not None:
                span.set_attribute("gen_ai.usage.input_tokens", response.usage.prompt_tokens)
                span.set_attribute("gen_ai.usage.output_tokens", response.usage.completion_tokens)
                for kind, count in (("input", response.usage.prompt_tokens),
                                    ("output", response.usage.completion_tokens)):
                    self._tokens.record(count, {**base, **extra, "gen_ai.token.type": kind})
            return response
        finally:
            self._seconds.record(time.perf_counter() - began, {**base, **extra})
            span.end()

    def ticket_done(self, fields: dict[str, Any]) -> None:
        self._records.info("ticket", extra={"fields": fields})


def hex_trace_id(span: trace.Span) -> str:
    return f"{span.get_span_context().trace_id:032x}"
