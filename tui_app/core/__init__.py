"""The headless engine. Nothing in this package may import textual, nor litellm at module level
(a test imports every module here in a fresh interpreter and checks ``sys.modules``)."""
