"""Traces, metrics and structured logs of the helpdesk.

Model calls follow the OpenTelemetry semantic conventions for generative AI (a CLIENT span named
`chat {model}`, the `gen_ai.*` attributes, the `gen_ai.client.*` histograms). Message content is never
recorded: the conventions make it opt-in because prompts and answers carry customer text.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any, TextIO

from opentelemetry import metrics, trace
from opentelemetry.metrics import MeterProvider
from opentelemetry.trace import Span, SpanKind, Status, StatusCode, TracerProvider

from helpdesk import __version__

SCOPE = "helpdesk"
OPERATION = "chat"  # gen_ai.operation.name of a chat completion
PROVIDER = "openai"  # gen_ai.provider.name of the OpenAI API


class ModelCall:
    """What one model call learnt, to be put on its span and its metrics when it ends."""

    def __init__(self, span: Span, attributes: dict[str, Any]) -> None:
        self.span = span
        self.attributes = attributes  # the metrics' attributes: the request's, then the response's
        self.input_tokens: int | None = None
        self.output_tokens: int | None = None

    def answered(self, completion: Any) -> None:
        """Record what the response says: its model, why it finished, its token usage."""
        if getattr(completion, "model", None):
            self.attributes["gen_ai.response.model"] = completion.model
            self.span.set_attribute("gen_ai.response.model", completion.model)
        if getattr(completion, "id", None):
            self.span.set_attribute("gen_ai.response.id", completion.id)
        reasons = [choice.finish_reason or "error" for choice in getattr(completion, "choices", None) or []]
        self.span.set_attribute("gen_ai.response.finish_reasons", reasons)
        usage = getattr(completion, "usage", None)
        if usage is not None:
            self.input_tokens, self.output_tokens = usage.prompt_tokens, usage.completion_tokens
            self.span.set_attribute("gen_ai.usage.input_tokens", usage.prompt_tokens)
            self.span.set_attribute("gen_ai.usage.output_tokens", usage.completion_tokens)


class Telemetry:
    """The service's tracer, its two GenAI histograms and its stream of JSON log records.

    `None` providers mean the global ones (a no-op until an application installs an SDK); `log_stream=None`
    means standard error, where the mail gateway's log shipper collects it.
    """

    def __init__(
        self,
        tracer_provider: TracerProvider | None = None,
        meter_provider: MeterProvider | None = None,
        log_stream: TextIO | None = None,
    ) -> None:
        self.tracer = trace.get_tracer(SCOPE, __version__, tracer_provider=tracer_provider)
        meter = metrics.get_meter(SCOPE, __version__, meter_provider=meter_provider)
        self.token_usage = meter.create_histogram(
            "gen_ai.client.token.usage", unit="{token}", description="Tokens used per model call, by token type"
        )
        self.duration = meter.create_histogram(
            "gen_ai.client.operation.duration", unit="s", description="Duration of model calls"
        )
        self._log_stream = log_stream

    @contextmanager
    def model_call(self, model: str, clock: Callable[[], float]) -> Iterator[ModelCall]:
        """Trace one request to the model: a CLIENT span, child of the current span, and its metrics.

        An exception escaping the block marks the span and the duration with `error.type` and goes on.
        """
        attributes: dict[str, Any] = {
            "gen_ai.operation.name": OPERATION,
            "gen_ai.provider.name": PROVIDER,
            "gen_ai.request.model": model,
        }
        with self.tracer.start_as_current_span(
            f"{OPERATION} {model}", kind=SpanKind.CLIENT, attributes=attributes,
            record_exception=False, set_status_on_exception=False,
        ) as span:
            call = ModelCall(span, dict(attributes))
            started = clock()
            try:
                yield call
            except Exception as err:
                # The class, not the message: an error text may quote the request.
                error_type = type(err).__qualname__
                call.attributes["error.type"] = error_type
                span.set_attribute("error.type", error_type)
                span.set_status(Status(StatusCode.ERROR, error_type))
                raise
            finally:
                self.duration.record(max(clock() - started, 0.0), call.attributes)
                if call.input_tokens is not None:
                    self.token_usage.record(call.input_tokens, {**call.attributes, "gen_ai.token.type": "input"})
                if call.output_tokens is not None:
                    self.token_usage.record(call.output_tokens, {**call.attributes, "gen_ai.token.type": "output"})

    def log(self, record: dict[str, Any]) -> None:
        """Write one structured log record: a JSON object on a line of its own."""
        stream = self._log_stream or sys.stderr
        stream.write(json.dumps(record, sort_keys=True) + "\n")
        stream.flush()


def trace_id(span: Span) -> str | None:
    """The span's trace id as 32 lower-case hex digits (how tracing back ends show it), or None."""
    context = span.get_span_context()
    return format(context.trace_id, "032x") if context.is_valid else None
