"""Git repositories: read access and a cache (``git``), licenses, the fix split into a solution
patch and its tests (``patches``), repositories built from descriptions (``builder``,
``examples``).
"""
