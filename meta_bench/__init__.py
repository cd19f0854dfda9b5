"""The meta-benchmark: how good are agent-built environments, per builder (model)?

seed_format (seeds and hidden assets) -> materialize (a repository with the start and fix
commits) -> builders (baseline, a model, null, reference build a Harbor task) -> score (the
hidden solutions judge the task: EnvScore) -> run and leaderboard (MetaScore with a CI).
seed.py drafts and checks seeds. See meta_bench/README.md.
"""
