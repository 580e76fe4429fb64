"""Local demo data: the top of the app graph, so it may import every app (their `demo`
modules) and nothing imports it. `manage.py seed_demo` (make run)."""
