"""The document store: what one is (``base``), SQLite with an in-process vector index
(``local``), a shared Chroma server (``chroma``), and the measured store the settings open
(``observed``)."""
