"""SkillSwap's benchmark: a seeded community generator, a harness and a reference app.

`make bench` (full) and `make bench-quick` run `python -m bench`; see bench/README.md.
"""
