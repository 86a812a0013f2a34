"""pipefault's Python side: the pytest plugin (pipefault.pytest_plugin)."""
