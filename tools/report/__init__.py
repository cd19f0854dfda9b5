"""A build run's report: its records (``records``) and summary.json / report.html (``html``)."""
