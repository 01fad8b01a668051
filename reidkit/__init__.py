"""reidkit: re-identification models, data, evaluation and training on mmengine."""
__version__ = '0.1.0'
