"""Where a stack keeps its state on disk: below the daemon, the CLI and the API alike."""
