"""Deterministic validation of a built Harbor task: see ``tools.validation.validate`` for the entry point.

``records`` holds what validation reports, ``diffs`` reads unified diffs, ``static`` runs the
checks that need no image, ``image_scan`` searches a built image for leaks, and ``probes``
holds the exploit scripts that play a reward-hacking agent.
"""
