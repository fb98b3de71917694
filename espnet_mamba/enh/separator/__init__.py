"""Enhancement/separation separators."""
