"""Personal data: ARCO requests (access, rectification, cancellation, opposition)."""
