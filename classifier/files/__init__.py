"""Task files in (every format, sniffed) and results out (the one safe writer)."""
