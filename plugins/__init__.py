"""One package per paper; each registers only what is new in that paper."""
