"""prompt-tui: author and run LLM prompt chains (AIConfig files) from the terminal."""

__version__ = "0.1.0"
