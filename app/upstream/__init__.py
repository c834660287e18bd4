"""Everything between the service and Ollama: the pooled client, its calls and what Ollama
answers, the circuit breaker, admission control with its adaptive limit, and which models
Ollama has."""
