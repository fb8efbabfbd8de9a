"""tfcompress."""
