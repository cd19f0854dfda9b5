"""The verifier writer: tests/test.sh and its files, and instruction.md. ``baseline`` (the fix's
own tests, judged by ``judge`` inside the task), ``model`` (the agent loop, checked by
validation), ``files``, ``runs``, ``records``; prompt: prompts/verifier.md.
"""
