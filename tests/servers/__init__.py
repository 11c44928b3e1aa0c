"""Real HTTP servers on 127.0.0.1 that tests start on an ephemeral port (never mocked transports).

* `tests.servers.web` — a generic server for `net.http`: echo, status codes, flaky endpoints,
  429 with Retry-After, slow answers.
* `tests.servers.llm` — an OpenAI- and Ollama-speaking server with scripted answers (text, tool
  calls, errors, slow or cut or malformed streams) and deterministic embeddings.
* `tests.servers.fixtures` — pytest fixtures for both; use them with
  `pytest_plugins = ["tests.servers.fixtures"]` in a test module, or import them by name.
* `tests.servers.workflows` — run one node through the real engine and collect its events.
"""
