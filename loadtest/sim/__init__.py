"""A simulated Ollama that can be told to fail (``python -m loadtest.sim``).

- ``text``: the simulated model: deterministic embeddings, answers and token counts;
- ``faults``: what the simulator is told to do wrong, and the checks on a change;
- ``models``: the models it has, as Ollama describes them, and its 404 for any other;
- ``http1``: the HTTP/1.1 plumbing on asyncio streams;
- ``ollama_api``: Ollama's API, with its real field names and units;
- ``server``: connections, faults applied to each request, and the ``/_sim/`` control API.
"""
