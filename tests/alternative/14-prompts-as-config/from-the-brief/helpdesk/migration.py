"""Move a prompt label to another model, only if the golden set says it is safe."""

from __future__ import annotations

from types import SimpleNamespace

import openai
import pandas as pd

from helpdesk import promptstore
from helpdesk.classifier import ModelClassifier, RetiredModel
from helpdesk.config import Settings
from helpdesk.evaluation import golden_ticket, release_gate
from helpdesk.service import decide_queue, route_by_rules


def migrate_model(new_model: str, golden: pd.DataFrame, baseline: pd.DataFrame, client: openai.OpenAI,
                  settings: Settings | None = None) -> SimpleNamespace:
    """Evaluate the label's prompt on `new_model`, publish it as a version, and move the label if it passes."""
    s = settings or Settings()
    labels = promptstore.read_labels(s.prompts_dir, s.prompt_name)
    current = promptstore.lookup(s.prompts_dir, s.prompt_name, s.prompt_label)
    classifier = ModelClassifier(client, new_model, current["system_prompt"])
    rows = []
    for record in golden.to_dict("records"):
        ticket = golden_ticket({"ref": record["ref"], "subject": record["subject"].strip(), "body": record["body"]})
        try:
            answer = classifier.classify(ticket)
        except RetiredModel:
            return SimpleNamespace(version=None, previous_version=labels[s.prompt_label], ships=False,
                                   reasons=[f"model {new_model} is not known to the API (model_not_found)"])
        queue, _ = decide_queue(answer, route_by_rules(ticket.subject, ticket.body), s.confidence_threshold)
        rows.append((record["ref"], record["label"], queue.value))
    candidate = pd.DataFrame(rows, columns=["ref", "label", "predicted"])
    verdict = release_gate(baseline, candidate, s)
    number = promptstore.publish_version(
        s.prompts_dir, s.prompt_name, new_model, current["system_prompt"],
        note=f"migration of version {current['version']} to {new_model}"
        + ("" if verdict.ships else " (did not pass the gate)"),
    )
    if verdict.ships:
        promptstore.set_label(s.prompts_dir, s.prompt_name, s.prompt_label, number)
    return SimpleNamespace(version=number, previous_version=current["version"], ships=verdict.ships,
                           reasons=list(verdict.reasons))
