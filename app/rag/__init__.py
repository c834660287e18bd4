"""The RAG pipeline: the semantic cache, retrieval and generation for a question, and the
ingestion of documents (the built-in corpus among them)."""
