"""The reconstructor: the start state as environment/Dockerfile and the fix as solution/solve.sh.
``baseline`` (no model), ``model`` (the agent loop, checked by building on the host),
``records``; prompt: prompts/reconstruct.md.
"""
