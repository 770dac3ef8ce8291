"""Moving a prompt label to a new model, behind the release gate.

When the provider retires the model a label's version runs on, the fix is a new version: the same
system prompt on the new model. It is published (versions are immutable, the old one stays as it was),
run on the golden set, and compared by the release gate with the last golden-set run of the current
version (recorded while its model still answered). Only a candidate that passes gets the label.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import date

import openai
import pandas as pd

from helpdesk.classifier import ModelNotFound
from helpdesk.config import Settings
from helpdesk.evaluation import predict_queues, release_gate
from helpdesk.registry import PromptRegistry

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class MigrationReport:
    """What `migrate_model` did: the candidate version, the gate's verdict and why."""

    version: int  # the candidate, published by this migration
    previous_version: int  # what the label pointed at before
    ships: bool  # True: the label now points at `version`
    reasons: list[str] = field(default_factory=list)  # why it did not ship; empty when it did


def migrate_model(
    new_model: str,
    golden: pd.DataFrame,
    baseline: pd.DataFrame,
    client: openai.OpenAI,
    settings: Settings | None = None,
) -> MigrationReport:
    """Publish the label's current prompt on `new_model` as a new version, evaluate it on `golden`, gate
    it against `baseline` (the current version's predictions) and move the label only if it passes."""
    settings = settings or Settings()
    registry = PromptRegistry(settings.prompts_dir)
    name, label = settings.prompt_name, settings.prompt_label
    current = registry.resolve(name, label)
    candidate = registry.publish(
        name,
        model=new_model,
        system_prompt=current.system_prompt,
        created_at=date.today().isoformat(),
        note=f"version {current.version} moved from {current.model} to {new_model}",
    )
    try:
        predictions = predict_queues(golden, client, candidate, settings)
    except ModelNotFound as err:
        reason = f"the API does not know the model {err.model} (model_not_found): nothing was evaluated"
        log.error("migration of %s@%s stopped: %s", name, label, reason)
        return MigrationReport(candidate.version, current.version, False, [reason])
    gate = release_gate(baseline, predictions, settings)
    if gate.ships:
        registry.move_label(name, label, candidate.version)
        log.info("%s@%s moved from version %d to %d (%s)", name, label, current.version, candidate.version,
                 new_model)
    else:
        log.warning("%s@%s stays on version %d: %s", name, label, current.version, "; ".join(gate.reasons))
    return MigrationReport(candidate.version, current.version, gate.ships, list(gate.reasons))
