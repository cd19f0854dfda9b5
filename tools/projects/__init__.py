"""How to build and test a project of each language: detection (``detect``), which paths are source
or tests (``paths``), dependencies and Dockerfiles, and running its own test command.
"""
