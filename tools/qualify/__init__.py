"""Qualification: decide, with evidence, whether a Candidate is worth an environment.

``qualify_baseline`` runs the deterministic checks and decides by fixed rules;
``recheck`` verifies a model-driven qualifier's claims with the same code.
"""

from tools.qualify.baseline import qualify_baseline
from tools.qualify.config import QualifyConfig
from tools.qualify.recheck import recheck
from tools.qualify.record import CheckResult, Finding, Qualification, QualificationClaims

__all__ = [
    "CheckResult",
    "Finding",
    "Qualification",
    "QualificationClaims",
    "QualifyConfig",
    "qualify_baseline",
    "recheck",
]
