"""Model manifests, the versioned on-disk model store, and export."""
