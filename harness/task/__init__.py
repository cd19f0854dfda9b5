"""The Harbor task format: a task folder's layout and task.toml (``records``), reading and writing
folders (``folder``), the image a task runs in (``image``).
"""
