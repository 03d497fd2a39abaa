"""Reusable widgets, one per module: the Line-API record table and board, the header, small inputs."""
