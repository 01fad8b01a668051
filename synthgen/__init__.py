"""synthgen: synthetic training data (prompts -> generators -> filters -> writer)."""
__version__ = '0.1.0'
