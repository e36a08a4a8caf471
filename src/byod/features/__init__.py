"""The feature table (user -> vector, versioned, with metadata) and its nearest-neighbour index."""
