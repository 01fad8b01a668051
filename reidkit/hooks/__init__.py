"""Training hooks (HOOKS registry)."""
from .malw_hook import MALWHook, malw_update

__all__ = ['MALWHook', 'malw_update']
