"""Telemetry recorders a check builds inside the learner host and hands to learner code.

A check cannot give learner code an object of its own (its methods would run in the grader), so it builds
these in the host with `learner.load("kata.host.telemetry")` and passes their `.provider` (a handle) to the
learner's code. What the learner's code emitted comes back as plain data:

- `SpanRecorder`: `.provider` is a real OpenTelemetry `TracerProvider` exporting to an in-memory exporter;
  `.spans()` lists the finished spans as dicts.
- `MetricRecorder`: `.provider` is a real `MeterProvider` read by an in-memory reader; `.metrics()` lists
  the instruments and their data points as dicts.
- `LogRecorder`: keeps every record of a stdlib `logging` logger (and its children), at any level.
"""

from __future__ import annotations

import logging
from typing import Any

from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import (
    Gauge,
    Histogram,
    InMemoryMetricReader,
    Sum,
)
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

# A fixed resource: the default one would read OTEL_* variables and run resource detectors in the host.
_RESOURCE = Resource({"service.name": "kata-learner"})


def _plain(value: Any) -> Any:
    """An attribute value as plain data: sequences become lists, the rest stays as it is."""
    if isinstance(value, tuple | list):
        return [_plain(item) for item in value]
    return value


def _attributes(attributes: Any) -> dict[str, Any]:
    return {str(key): _plain(value) for key, value in (attributes or {}).items()}


class SpanRecorder:
    """A tracer provider for learner code whose finished spans a check reads back with `spans()`."""

    def __init__(self) -> None:
        self._exporter = InMemorySpanExporter()
        self.provider = TracerProvider(resource=_RESOURCE)
        # Simple (synchronous) processing: a span is readable as soon as it ends, with no export thread.
        self.provider.add_span_processor(SimpleSpanProcessor(self._exporter))

    def spans(self) -> list[dict[str, Any]]:
        """The finished spans, in the order they ended.

        Each is a dict: `name`, `kind` ("INTERNAL", "CLIENT", ...), `trace_id` (32 hex digits), `span_id`
        (16 hex digits), `parent_span_id` (16 hex digits or None), `attributes` (plain values; sequences as
        lists), `status` ("UNSET", "OK" or "ERROR"), `status_description`, `events` (each with `name` and
        `attributes`), `scope` (the instrumentation scope's name), `start_ns` and `end_ns`.
        """
        return [self._span(span) for span in self._exporter.get_finished_spans()]

    def clear(self) -> None:
        """Forget the spans recorded so far."""
        self._exporter.clear()

    @staticmethod
    def _span(span: ReadableSpan) -> dict[str, Any]:
        context = span.get_span_context()
        parent = span.parent
        return {
            "name": span.name,
            "kind": span.kind.name,
            "trace_id": format(context.trace_id, "032x") if context else None,
            "span_id": format(context.span_id, "016x") if context else None,
            "parent_span_id": format(parent.span_id, "016x") if parent is not None else None,
            "attributes": _attributes(span.attributes),
            "status": span.status.status_code.name,
            "status_description": span.status.description,
            "events": [{"name": event.name, "attributes": _attributes(event.attributes)} for event in span.events],
            "scope": span.instrumentation_scope.name if span.instrumentation_scope else None,
            "start_ns": span.start_time,
            "end_ns": span.end_time,
        }


class MetricRecorder:
    """A meter provider for learner code whose metrics a check reads back with `metrics()`."""

    def __init__(self) -> None:
        self._reader = InMemoryMetricReader()
        self.provider = MeterProvider(metric_readers=[self._reader], resource=_RESOURCE)

    def metrics(self) -> list[dict[str, Any]]:
        """Every instrument that recorded something, with its data points (cumulative since the start).

        Each is a dict: `name`, `unit`, `description`, `scope`, `type` ("histogram", "sum" or "gauge") and
        `points`: for a histogram each point has `attributes`, `count`, `sum`, `min` and `max`; for a sum or
        a gauge, `attributes` and `value`.
        """
        found: list[dict[str, Any]] = []
        data = self._reader.get_metrics_data()
        for resource_metrics in data.resource_metrics if data else []:
            for scope_metrics in resource_metrics.scope_metrics:
                for metric in scope_metrics.metrics:
                    found.append({
                        "name": metric.name,
                        "unit": metric.unit,
                        "description": metric.description,
                        "scope": scope_metrics.scope.name,
                        **self._points(metric.data),
                    })
        return found

    @staticmethod
    def _points(data: Any) -> dict[str, Any]:
        if isinstance(data, Histogram):
            points = [{"attributes": _attributes(p.attributes), "count": p.count, "sum": p.sum, "min": p.min,
                       "max": p.max} for p in data.data_points]
            return {"type": "histogram", "points": points}
        kind = "sum" if isinstance(data, Sum) else "gauge" if isinstance(data, Gauge) else type(data).__name__
        points = [{"attributes": _attributes(p.attributes), "value": p.value} for p in data.data_points]
        return {"type": kind, "points": points}


# The attributes every LogRecord has; whatever else a record carries came from `extra=`.
_STANDARD = set(vars(logging.LogRecord("", 0, "", 0, "", None, None))) | {"message", "asctime"}


class _Keep(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.records: list[dict[str, Any]] = []

    def emit(self, record: logging.LogRecord) -> None:
        try:
            message = record.getMessage()
        except Exception as exc:  # a malformed %-format: keep what there is rather than lose the record
            message = f"{record.msg!r} % {record.args!r} ({type(exc).__name__})"
        exc_text = logging.Formatter().formatException(record.exc_info) if record.exc_info else None
        extra = {key: repr(value) for key, value in vars(record).items() if key not in _STANDARD}
        self.records.append({"logger": record.name, "level": record.levelname, "message": message,
                             "exc_text": exc_text, "extra": extra})


class LogRecorder:
    """Keeps every record logged under one stdlib logger (`""` for the root), DEBUG included.

    The logger's level is set to DEBUG so nothing is filtered out before the recorder sees it; records of
    child loggers reach it as long as they propagate (the default).
    """

    def __init__(self, name: str = "") -> None:
        self._handler = _Keep()
        self._logger = logging.getLogger(name)
        self._logger.setLevel(logging.DEBUG)
        self._logger.addHandler(self._handler)

    def records(self) -> list[dict[str, Any]]:
        """The records so far: dicts with `logger`, `level`, `message` (formatted), `exc_text` (a
        formatted traceback or None) and `extra` (the reprs of attributes given with `extra=`)."""
        return list(self._handler.records)
