"""ollama-rag: an instrumented RAG service in front of Ollama."""

__version__ = "0.1.0"
