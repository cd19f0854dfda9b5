"""Getting a machine ready (``python -m harness.setup``): the Docker engine, kettle's base image,
Harbor's runner, a headless Chromium.
"""
