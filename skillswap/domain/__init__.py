"""Pure domain rules: no Flask, no I/O, no store. Everything here is testable with plain values."""
