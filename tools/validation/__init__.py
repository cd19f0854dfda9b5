"""Deterministic validation of a built Harbor task (entry point: ``validate.validate_task``).

``records`` holds what validation reports, ``diffs`` reads unified diffs, ``static`` runs the
checks that need no image, ``image_scan`` searches a built image for leaks, and ``probes``
holds the exploit scripts that play a reward-hacking agent.
"""
